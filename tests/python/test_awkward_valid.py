"""Awkward but valid input converts exactly: every value checked against Python's decimal/json/csv."""

from __future__ import annotations

import datetime as dt
import gzip
import random
from decimal import Decimal

import pytest

import pyarrow.compute as pc
from collections import Counter

from focus_helpers import (
    duck_glob, duck_query, hive_dataset, assert_types, row_key,
    UTC, assert_dataset, assert_no_crash, assert_summary, expected_from_csv, parquet_files,
    read_costs_pyarrow, read_tags_pyarrow,
)
from synth import BASE_HEADER, zstd_compress, good_cells, line_of, quote, write_csv


def convert_ok(ingest, src, out, **kw):
    exp = expected_from_csv(src, **kw)
    r = ingest(src, out)
    assert_no_crash(r)
    assert r.code == 0, str(r)
    assert_dataset(out, exp)
    assert_summary(r.summary(), exp)
    return exp


def rows_by(out, key="ResourceName"):
    rows, _ = read_costs_pyarrow(out)
    by = {r[key]: r for r in rows}
    assert len(by) == len(rows), f"{key} not unique in test data"
    return by


def test_bom_crlf_and_quoted_newlines(tmp_path, ingest, out_dir):
    rows = [good_cells(i) for i in range(10)]
    rows[3]["ResourceName"] = "two\r\nlines"
    rows[4]["x_Team"] = 'say "hi", then\nleave'
    src = write_csv(tmp_path / "bom.csv", [line_of(c) for c in rows], newline="\r\n", bom=True)
    convert_ok(ingest, src, out_dir)
    got = rows_by(out_dir)
    assert got["two\r\nlines"]["BilledCost"] is not None
    assert "ChargePeriodStart" in got["name 0"]  # the BOM is not part of the first column's name


def test_quoted_numbers_and_dates_no_final_newline(tmp_path, ingest, out_dir):
    lines = []
    for i, v in enumerate(["1.5", "-0.25", "2E2", "0", "-0", "000123.4500"]):
        c = good_cells(i)
        cells = [f'"{c[h]}"' if h != "Tags" else quote(c[h]) for h in BASE_HEADER]
        cells[BASE_HEADER.index("BilledCost")] = f'"{v}"'
        cells[BASE_HEADER.index("ConsumedQuantity")] = f'"{v}"'
        lines.append(",".join(cells))
    src = tmp_path / "quoted.csv"  # BOM before a quoted header, no newline at the end
    src.write_bytes(b"\xef\xbb\xbf" + (",".join(f'"{h}"' for h in BASE_HEADER) + "\n" + "\n".join(lines)).encode())
    convert_ok(ingest, src, out_dir)
    got = rows_by(out_dir)
    assert got["name 2"]["BilledCost"] == Decimal(200)
    assert got["name 5"]["ConsumedQuantity"] == Decimal("123.45")


def test_null_tokens(tmp_path, ingest, out_dir):
    tokens = ["", "NULL", "null", '"NULL"', '""', '"null"']
    lines = []
    for i, t in enumerate(tokens):
        c = {h: quote(v) for h, v in good_cells(i).items()}
        for h in ("ChargePeriodEnd", "EffectiveCost", "ConsumedQuantity", "Tags", "x_Team", "ServiceName"):
            c[h] = t
        if i % 2:
            c["ResourceId"] = t
        lines.append(",".join(c[h] for h in BASE_HEADER))
    c = good_cells(9)
    c["x_Team"] = "Null"   # not a null token: only NULL and null are
    c["ServiceName"] = "NULL value"
    lines.append(line_of(c))
    src = write_csv(tmp_path / "nulls.csv", lines)
    convert_ok(ingest, src, out_dir)
    got = rows_by(out_dir)
    for i in range(len(tokens)):
        r = got[f"name {i}"]
        for h in ("ChargePeriodEnd", "EffectiveCost", "ConsumedQuantity", "Tags", "x_Team", "ServiceName"):
            assert r[h] is None, (tokens[i], h, r[h])
    assert got["name 9"]["x_Team"] == "Null" and got["name 9"]["ServiceName"] == "NULL value"


TIMESTAMPS = [
    # text, the UTC instant it denotes
    ("2024-09-18T23:30:00+02:00", dt.datetime(2024, 9, 18, 21, 30, tzinfo=UTC)),
    ("2024-09-18T23:30:00-02:00", dt.datetime(2024, 9, 19, 1, 30, tzinfo=UTC)),   # next UTC day
    ("2024-09-19T00:30:00+01:00", dt.datetime(2024, 9, 18, 23, 30, tzinfo=UTC)),  # previous UTC day
    ("2024-12-31T22:00:00-05:45", dt.datetime(2025, 1, 1, 3, 45, tzinfo=UTC)),    # next UTC year
    ("2025-01-01T05:00:00+09:30", dt.datetime(2024, 12, 31, 19, 30, tzinfo=UTC)),
    ("2024-09-18T10:00:00+00:00", dt.datetime(2024, 9, 18, 10, tzinfo=UTC)),
    ("2024-09-18 22:00:00", dt.datetime(2024, 9, 18, 22, tzinfo=UTC)),            # naive = UTC
    ("2024-09-18T22:00:00", dt.datetime(2024, 9, 18, 22, tzinfo=UTC)),
    ("2024-02-29T12:00:00Z", dt.datetime(2024, 2, 29, 12, tzinfo=UTC)),
    ("2024-09-18T22:00:00.5Z", dt.datetime(2024, 9, 18, 22, 0, 0, 500000, tzinfo=UTC)),
    ("2024-09-18T22:00:00.123456Z", dt.datetime(2024, 9, 18, 22, 0, 0, 123456, tzinfo=UTC)),
    ("2024-09-18T22:00:00.1234567Z", dt.datetime(2024, 9, 18, 22, 0, 0, 123456, tzinfo=UTC)),
    ("2024-09-18 23:59:59.999999999", dt.datetime(2024, 9, 18, 23, 59, 59, 999999, tzinfo=UTC)),
    ("2024-09-18T23:59:59.75+02:00", dt.datetime(2024, 9, 18, 21, 59, 59, 750000, tzinfo=UTC)),
    ("2024-09-18T22:15Z", dt.datetime(2024, 9, 18, 22, 15, tzinfo=UTC)),           # no seconds
    ("2024-09-18 22:15", dt.datetime(2024, 9, 18, 22, 15, tzinfo=UTC)),
    ("2024-09-19T01:15+05:30", dt.datetime(2024, 9, 18, 19, 45, tzinfo=UTC)),
    ("1999-12-31T23:59:59Z", dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ("1969-12-31T23:59:59.5Z", dt.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)),  # before the epoch
    ("1970-01-01T00:30:00+01:00", dt.datetime(1969, 12, 31, 23, 30, tzinfo=UTC)),
    ("1969-12-31 23:59:59.9999999", dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ("1900-01-01T00:00:00Z", dt.datetime(1900, 1, 1, tzinfo=UTC)),
    ("2024-09-18T01:00:00+14:00", dt.datetime(2024, 9, 17, 11, tzinfo=UTC)),
    ("2024-09-18T20:00:00-12:00", dt.datetime(2024, 9, 19, 8, tzinfo=UTC)),
    ("9999-12-31T23:59:59.999999Z", dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
]


def test_timestamps_offsets_naive_fractions_missing_seconds(tmp_path, ingest, out_dir):
    lines = []
    for i, (text, _) in enumerate(TIMESTAMPS):
        c = good_cells(i)
        c["ChargePeriodStart"] = text
        c["ChargePeriodEnd"] = text
        lines.append(line_of(c))
    src = write_csv(tmp_path / "ts.csv", lines)
    exp = convert_ok(ingest, src, out_dir)
    # The hand-written instants agree with the Python parser used for every other test ...
    assert [r["ChargePeriodStart"] for r in exp.rows] == [w for _, w in TIMESTAMPS]
    # ... and with what the binary wrote, partitioned by the UTC date.
    got = rows_by(out_dir)
    for i, (text, want) in enumerate(TIMESTAMPS):
        r = got[f"name {i}"]
        assert r["ChargePeriodStart"] == want, text
        assert (r["year"], r["month"], r["day"]) == (want.year, want.month, want.day), text


Z31 = "0" * 31
MONEY_CASES = [
    # text, exact value at scale 32 (half-even)
    ("1.5e-3", "0.0015"), ("2E2", "200"), ("-1.5E+2", "-150"), ("12345e-4", "1.2345"),
    ("0.000001e6", "1"), ("1e-40", "0"), ("-1e-40", "0"),
    (f"0.{Z31}25", f"0.{Z31}2"), (f"0.{Z31}35", f"0.{Z31}4"), (f"0.{Z31}15", f"0.{Z31}2"),
    (f"0.{Z31}05", "0"), (f"-0.{Z31}25", f"-0.{Z31}2"), (f"-0.{Z31}35", f"-0.{Z31}4"),
    (f"0.{Z31}251", f"0.{Z31}3"), (f"0.{Z31}2500001", f"0.{Z31}3"), (f"0.{Z31}249999", f"0.{Z31}2"),
    ("25e-33", f"0.{Z31}2"), ("35E-33", f"0.{Z31}4"), ("-5e-33", "0"), ("15e-33", f"0.{Z31}2"),
    ("0.99999999999999999999999999999999995", "1"),
    ("999999." + "9" * 32, "999999." + "9" * 32), ("-999999." + "9" * 32, "-999999." + "9" * 32),
    ("999999." + "9" * 32 + "4", "999999." + "9" * 32),
    ("123456.12345678901234567890123456789012", "123456.12345678901234567890123456789012"),
    (f"0.{Z31}25" + "0" * 60 + "1", f"0.{Z31}3"), (f"0.{Z31}25" + "0" * 60, f"0.{Z31}2"),
    ("0" * 43 + "1.5", "1.5"), ("-" + "0" * 10 + "999999.5", "-999999.5"), ("0e50", "0"), ("-0.0", "0"),
    ("1e-0003", "0.001"), ("-0e-40", "0"), ("0.000000000000000000000000000000000000000001e42", "1"),
    ("99999900000000000000000000000000000000e-32", "999999"),
    (f"0.{Z31}25" + "0" * 300 + "1", f"0.{Z31}3"), ("1e-400", "0"), ("-1e-400", "0"), ("0.1e1", "1"),
]
Z17 = "0" * 17
QTY_CASES = [
    (f"0.{Z17}25", f"0.{Z17}2"), (f"0.{Z17}35", f"0.{Z17}4"), (f"-0.{Z17}25", f"-0.{Z17}2"),
    (f"-1.{Z17}15", f"-1.{Z17}2"), ("9" * 20, "9" * 20), ("-" + "9" * 20 + "." + "9" * 18, "-" + "9" * 20 + "." + "9" * 18),
    ("4.2e6", "4200000"), ("1E-19", "0"), ("3E-18", f"0.{Z17}3"), ("2.5E-18", f"0.{Z17}2"),
]


def test_scientific_notation_rounding_ties_and_extremes(tmp_path, ingest, out_dir):
    lines = []
    n = max(len(MONEY_CASES), len(QTY_CASES))
    for i in range(n):
        c = good_cells(i)
        c["BilledCost"] = MONEY_CASES[i % len(MONEY_CASES)][0]
        c["EffectiveCost"] = MONEY_CASES[(i + 7) % len(MONEY_CASES)][0]
        c["ConsumedQuantity"] = QTY_CASES[i % len(QTY_CASES)][0]
        lines.append(line_of(c))
    src = write_csv(tmp_path / "ties.csv", lines)
    exp = convert_ok(ingest, src, out_dir)
    assert exp.rounded > 10  # the summary's "rounded" was compared with this count
    got = rows_by(out_dir)
    for i in range(n):
        r = got[f"name {i}"]
        text, want = MONEY_CASES[i % len(MONEY_CASES)]
        assert r["BilledCost"] == Decimal(want), (text, r["BilledCost"], want)
        text, want = QTY_CASES[i % len(QTY_CASES)]
        assert r["ConsumedQuantity"] == Decimal(want), (text, r["ConsumedQuantity"], want)


TAG_CASES = [
    ('{"n":1,"f":1.50,"e":1e5,"E":-2.5E-3,"z":-0,"big":12345678901234567890123}',
     {"n": "1", "f": "1.50", "e": "1e5", "E": "-2.5E-3", "z": "-0", "big": "12345678901234567890123"}),
    ('{"t":true,"f":false,"nothing":null,"s":"true","num":"1"}',
     {"t": "true", "f": "false", "nothing": None, "s": "true", "num": "1"}),
    ('{" org":" padded value ","":"empty key","e":""}', {" org": " padded value ", "": "empty key", "e": ""}),
    ('{"caf\\u00e9":"\\u2603 snow","quote":"a\\"b","slash":"a\\\\b\\/c","nl":"x\\ny","ü":"ß"}',
     {"café": "☃ snow", "quote": 'a"b', "slash": "a\\b/c", "nl": "x\ny", "ü": "ß"}),
    (' { "spaced" : "json" } ', {"spaced": "json"}),
    ('{"emoji":"\\ud83d\\ude00","nul":"a\\u0000b","tab":"a\\tb","ctl":"\\u001f"}',
     {"emoji": "\U0001F600", "nul": "a\x00b", "tab": "a\tb", "ctl": "\x1f"}),
    ("{}", {}),
]


def test_tags_non_string_values_escapes_and_untrimmed_keys(tmp_path, ingest, out_dir):
    lines = []
    for i, (text, _) in enumerate(TAG_CASES):
        c = good_cells(i)
        c["Tags"] = text
        c["ResourceId"] = f"res-tags-{i}"
        lines.append(line_of(c))
    src = write_csv(tmp_path / "tags.csv", lines)
    exp = convert_ok(ingest, src, out_dir)
    got = rows_by(out_dir)
    for i, (text, want) in enumerate(TAG_CASES):
        assert exp.rows[i]["Tags"] == want, text  # guard on the test's own JSON reading
        assert dict(got[f"name {i}"]["Tags"]) == want, text
    # An empty object is an empty map, not null, and contributes nothing to tags_index.
    assert got[f"name {len(TAG_CASES) - 1}"]["Tags"] == []
    assert not [t for t in read_tags_pyarrow(out_dir) if t["resource_id"] == f"res-tags-{len(TAG_CASES) - 1}"]


def test_tags_duplicated_key_last_wins(tmp_path, ingest, out_dir):
    c = good_cells(0)
    c["Tags"] = '{"env":"dev","team":"a","env":"prod"}'
    src = write_csv(tmp_path / "dupkey.csv", [line_of(c)])
    convert_ok(ingest, src, out_dir)
    assert dict(rows_by(out_dir)["name 0"]["Tags"]) == {"env": "prod", "team": "a"}


def test_allocated_tags_and_other_period_columns(tmp_path, ingest, out_dir):
    header = BASE_HEADER + ["AllocatedTags", "BillingPeriodStart", "BillingPeriodEnd", "ContractedCost",
                            "CommitmentDiscountQuantity", "SkuPriceDetails", "ContractApplied"]
    lines = []
    for i in range(6):
        c = good_cells(i)
        c.update({
            "AllocatedTags": ['{"alloc":"x","w":0.5}', "", "NULL", "{}", '{"k":true}', '{"a":"b"}'][i],
            "BillingPeriodStart": "2024-09-01T00:00:00Z", "BillingPeriodEnd": ["2024-10-01 00:00:00", ""][i % 2],
            "ContractedCost": ["1.25", "", "-0.00000000000000000000000000000001"][i % 3],
            "CommitmentDiscountQuantity": ["", "3.5", "7E3"][i % 3],
            "SkuPriceDetails": '{"x_Tier":{"min":1,"max":2.50}}',
            "ContractApplied": '[{"ContractId":"c-1","Elements":[1,2]}]',
        })
        lines.append(line_of(c, header))
    src = write_csv(tmp_path / "wide.csv", lines, header)
    convert_ok(ingest, src, out_dir)


def test_unknown_and_x_columns_kept_verbatim_in_any_order(tmp_path, ingest, out_dir):
    header = BASE_HEADER + ["Id", "x_CostCenter", "Custom Column", "SkuPriceDetails"]
    rng = random.Random(7)
    rng.shuffle(header)
    assert header.index("ChargePeriodStart") > 0
    lines = []
    for i in range(8):
        c = good_cells(i)
        c.update({"Id": f"{i:05d}", "x_CostCenter": ["  spaced  ", "1.50", "007", "true", "a,b", "é", "{}", "x"][i],
                  "Custom Column": "2024-09-18", "SkuPriceDetails": '{"a": 1.0}'})
        lines.append(line_of(c, header))
    src = write_csv(tmp_path / "order.csv", lines, header)
    convert_ok(ingest, src, out_dir)
    got = rows_by(out_dir)
    assert got["name 0"]["x_CostCenter"] == "  spaced  " and got["name 2"]["x_CostCenter"] == "007"
    assert got["name 1"]["Id"] == "00001" and got["name 0"]["SkuPriceDetails"] == '{"a": 1.0}'


def test_header_names_trimmed_and_matched_case_insensitively(tmp_path, ingest, out_dir):
    """INTERNALS.md: a header name is trimmed and catalog columns take their FOCUS spelling."""
    header_line = ",".join({"BilledCost": " billedcost ", "ChargePeriodStart": "chargeperiodstart",
                            "Tags": "TAGS"}.get(h, h) for h in BASE_HEADER)
    src = write_csv(tmp_path / "case.csv", [line_of(good_cells(i)) for i in range(5)],
                    header_line=header_line)
    convert_ok(ingest, src, out_dir)


def test_header_only_file(tmp_path, ingest, out_dir):
    src = write_csv(tmp_path / "empty-body.csv", [])
    exp = convert_ok(ingest, src, out_dir)
    assert exp.rows == []
    assert read_costs_pyarrow(out_dir)[0] == []


@pytest.mark.parametrize("name", ["export.csv.gz", "export.csv"])
def test_gzip_input_detected_by_magic(name, tmp_path, ingest, out_dir):
    rows = [good_cells(i) for i in range(500)]
    text = ",".join(BASE_HEADER) + "\r\n" + "".join(line_of(c) + "\r\n" for c in rows)
    src = tmp_path / name
    src.write_bytes(gzip.compress(b"\xef\xbb\xbf" + text.encode()))
    convert_ok(ingest, src, out_dir)
    assert len(parquet_files(out_dir / "costs_raw")) >= 1


def test_blank_lines_are_not_records(tmp_path, ingest, out_dir):
    lines = [line_of(good_cells(0)), "", line_of(good_cells(1)), line_of(good_cells(2)), ""]
    src = write_csv(tmp_path / "blank.csv", lines)
    exp = convert_ok(ingest, src, out_dir)
    assert len(exp.rows) == 3


def test_identical_rows_are_all_kept(tmp_path, ingest, out_dir):
    same = line_of(good_cells(3))
    src = write_csv(tmp_path / "dups.csv", [same, same, line_of(good_cells(4)), same])
    exp = convert_ok(ingest, src, out_dir)
    assert len(exp.rows) == 4


def test_gzip_multi_member(tmp_path, ingest, out_dir):
    """`cat a.gz b.gz` is a valid gzip file: all members are read."""
    head = ",".join(BASE_HEADER) + "\n"
    part1 = head + "".join(line_of(good_cells(i)) + "\n" for i in range(50))
    part2 = "".join(line_of(good_cells(i)) + "\n" for i in range(50, 90))
    src = tmp_path / "multi.csv.gz"
    src.write_bytes(gzip.compress(part1.encode()) + gzip.compress(part2.encode()))
    exp = convert_ok(ingest, src, out_dir)
    assert len(exp.rows) == 90


def test_many_days_interleaved(tmp_path, ingest, out_dir):
    """Rows of 40 days interleaved (more days than a job keeps writers open): each day's rows
    arrive early and late in the file."""
    lines = []
    for i in range(800):
        c = good_cells(i)
        day = dt.datetime(2023, 1, 1, tzinfo=UTC) + dt.timedelta(days=(i * 17) % 40, minutes=i % 1440)
        c["ChargePeriodStart"] = day.strftime("%Y-%m-%dT%H:%M:%SZ")
        c["ResourceId"] = f"res-{i % 13}"
        c["Tags"] = '{"k%d":"v%d"}' % (i % 4, i % 7)
        lines.append(line_of(c))
    src = write_csv(tmp_path / "days.csv", lines)
    exp = convert_ok(ingest, src, out_dir)
    assert len(exp.partitions) == 40


def test_more_rows_than_one_default_batch(tmp_path, ingest, out_dir):
    """70,000 rows, more than the default 65,536-row batch. Checked by aggregates per partition
    (DuckDB, exact decimal sums) against Python, and every 50th row in full (pyarrow)."""
    header = ["ResourceId", "ResourceName", "ChargePeriodStart", "BilledCost", "ConsumedQuantity", "Tags"]
    src = tmp_path / "70k.csv"
    want = {}
    tags = set()
    with open(src, "w", newline="") as fh:
        fh.write(",".join(header) + "\n")
        for i in range(70_000):
            day, cost, qty = 18 + i % 3, f"{i % 991}.{i:06d}7", f"{i}.125"
            fh.write(f"r{i % 101},n{i},2024-09-{day}T{i % 24:02d}:00:00Z,{cost},{qty},"
                     f"\"{{\"\"e\"\":\"\"{i % 3}\"\"}}\"\n")
            w = want.setdefault((2024, 9, day), [0, Decimal(0), Decimal(0)])
            w[0] += 1
            w[1] += Decimal(cost)
            w[2] += Decimal(qty)
            tags.add((f"r{i % 101}", "e", str(i % 3), dt.date(2024, 9, day)))
    r = ingest(src, out_dir)
    assert_no_crash(r)
    assert r.code == 0, str(r)
    s = r.summary()
    assert s["rows"]["costs_raw"] == 70_000 and s["rows"]["tags_index"] == len(tags), s
    got = duck_query(
        "SELECT CAST(year AS INTEGER) y, CAST(month AS INTEGER) m, CAST(day AS INTEGER) d, count(*) n, "
        "sum(CAST(BilledCost AS DECIMAL(38,10))) c, sum(CAST(ConsumedQuantity AS DECIMAL(38,6))) q, "
        "count(DISTINCT ResourceName) names FROM read_parquet(?, hive_partitioning=true) GROUP BY ALL",
        [duck_glob(out_dir, "costs_raw")])
    assert {(g["y"], g["m"], g["d"]): [g["n"], g["c"], g["q"]] for g in got} == want
    assert all(g["names"] == g["n"] for g in got)
    # Every 50th row in full, through pyarrow, against the Python rules.
    exp = expected_from_csv(src, skip_lines=set(range(2, 70_002)) - set(range(2, 70_002, 50)))
    dset = hive_dataset(out_dir / "costs_raw")
    names = [row["ResourceName"] for row in exp.rows]
    table = dset.to_table(filter=pc.field("ResourceName").isin(names))
    assert_types(dset.schema, exp.columns)
    cols = exp.columns
    assert Counter((r["year"], r["month"], r["day"], *row_key(r, cols)) for r in table.to_pylist()) == \
        Counter((*r["_part"], *row_key(r, cols)) for r in exp.rows)
    got_tags = {(t["resource_id"], t["tag_key"], t["tag_value"], t["date"]) for t in read_tags_pyarrow(out_dir)}
    assert got_tags == tags


@pytest.mark.parametrize("scale,cases", [
    (1, [("0.25", "0.2"), ("0.35", "0.4"), ("-0.25", "-0.2"), ("1e36", "1" + "0" * 36), ("0.049", "0"),
         ("9" * 37 + ".94", "9" * 37 + ".9")]),
    (38, [("0.5", "0.5"), ("-0." + "9" * 38, "-0." + "9" * 38), ("1e-39", "0"), ("25e-39", "0." + "0" * 37 + "2")]),
])
def test_money_scale_extremes(scale, cases, tmp_path, ingest, out_dir):
    lines = []
    for i, (text, _) in enumerate(cases):
        c = good_cells(i)
        c["BilledCost"] = c["EffectiveCost"] = text
        c["ListUnitPrice"] = "0"
        lines.append(line_of(c))
    src = write_csv(tmp_path / "scale.csv", lines)
    exp = expected_from_csv(src, money_scale=scale)
    r = ingest(src, out_dir, "--money-scale", str(scale))
    assert_no_crash(r)
    assert r.code == 0, str(r)
    assert_dataset(out_dir, exp, money_scale=scale)
    assert_summary(r.summary(), exp)
    got = rows_by(out_dir)
    for i, (text, want) in enumerate(cases):
        assert got[f"name {i}"]["BilledCost"] == Decimal(want), text


def test_money_scale_zero_exact_or_refused(tmp_path, ingest, out_dir):
    """Scale 0 (whole units) either converts exactly at scale 0 or is refused as a usage error;
    it never silently falls back to another scale."""
    lines = [line_of(dict(good_cells(i), BilledCost=t, EffectiveCost=t, ListUnitPrice="0"))
             for i, t in enumerate(["2.5", "3.5", "-2.5", "1e37"])]
    src = write_csv(tmp_path / "scale0.csv", lines)
    r = ingest(src, out_dir, "--money-scale", "0")
    assert_no_crash(r)
    if r.code == 2:
        assert "money-scale" in r.stderr, str(r)
        assert not parquet_files(out_dir)
        return
    assert r.code == 0, str(r)
    exp = expected_from_csv(src, money_scale=0)
    assert_dataset(out_dir, exp, money_scale=0)
    assert [rows_by(out_dir)[f"name {i}"]["BilledCost"] for i in range(4)] == \
        [Decimal(2), Decimal(4), Decimal(-2), Decimal(10) ** 37]


def test_long_fields_and_escaped_quotes(tmp_path, ingest, out_dir):
    big = "x" * 300_000
    tags = "{" + ",".join(f'"k{i}":"{"v" * 50}{i}"' for i in range(2000)) + "}"
    rows = [dict(good_cells(0), ResourceName=big), dict(good_cells(1), Tags=tags),
            dict(good_cells(2), x_Team='"'), dict(good_cells(3), x_Team='""quoted""')]
    src = write_csv(tmp_path / "long.csv", [line_of(c) for c in rows])
    convert_ok(ingest, src, out_dir)


@pytest.mark.parametrize("name", ["export.csv.zst", "export.csv"])
def test_zstd_input_detected_by_magic(name, tmp_path, ingest, out_dir):
    plain = write_csv(tmp_path / "plain.csv", [line_of(good_cells(i)) for i in range(300)])
    src = tmp_path / name
    src.write_bytes(zstd_compress(plain.read_bytes()))
    exp = expected_from_csv(plain)
    r = ingest(src, out_dir)
    assert_no_crash(r)
    assert r.code == 0, str(r)
    assert_dataset(out_dir, exp)


def test_header_without_newline(tmp_path, ingest, out_dir):
    src = tmp_path / "h.csv"
    src.write_text(",".join(BASE_HEADER))
    exp = convert_ok(ingest, src, out_dir)
    assert exp.rows == []
