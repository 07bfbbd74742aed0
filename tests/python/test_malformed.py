"""Malformed input: exit 1, a located error naming source, line, field number, column and value,
no crash, and nothing committed (no Parquet anywhere under the output, no rows visible to DuckDB)."""

from __future__ import annotations

import gzip
import re

import pytest

from focus_helpers import (
    Invalid, assert_dataset, assert_located, assert_no_crash, assert_nothing_committed,
    convert_value, expected_from_csv, file_url, parquet_files, source_alternatives,
)
from synth import BASE_HEADER, zstd_compress, col, file_with_bad_row, good_cells, line_of, quote, write_csv


def _fails(run, out):
    assert_no_crash(run)
    assert run.code == 1, str(run)
    assert_nothing_committed(out)


# (id, column, cell as written in the file, value the error quotes)
VALUE_CASES = [
    ("decimal-abc", "BilledCost", "abc", "abc"),
    ("decimal-dollar", "BilledCost", "$1.00", "$1.00"),
    ("decimal-thousands-quoted", "BilledCost", '"1,000.00"', "1,000.00"),
    ("decimal-leading-space", "BilledCost", " 1.5", " 1.5"),
    ("decimal-trailing-space", "BilledCost", "1.5 ", "1.5 "),
    ("decimal-quoted-space", "EffectiveCost", '" 1.5"', " 1.5"),
    ("decimal-plus", "BilledCost", "+1.5", "+1.5"),
    ("decimal-NaN", "BilledCost", "NaN", "NaN"),
    ("decimal-nan", "EffectiveCost", "nan", "nan"),
    ("decimal-Inf", "BilledCost", "Inf", "Inf"),
    ("decimal-minus-Inf", "BilledCost", "-Inf", "-Inf"),
    ("decimal-Infinity", "ListUnitPrice", "Infinity", "Infinity"),
    ("decimal-two-dots", "BilledCost", "1.2.3", "1.2.3"),
    ("decimal-lone-minus", "BilledCost", "-", "-"),
    ("decimal-double-minus", "BilledCost", "--1", "--1"),
    ("decimal-empty-exponent", "BilledCost", "1e", "1e"),
    ("decimal-hex", "BilledCost", "0x10", "0x10"),
    ("decimal-underscore", "BilledCost", "1_000", "1_000"),
    ("decimal-comma-fraction", "BilledCost", '"1,5"', "1,5"),
    ("decimal-euro", "BilledCost", "1.00€", "1.00€"),
    ("decimal-only-spaces", "BilledCost", "   ", "   "),
    ("decimal-padded-NULL", "BilledCost", " NULL ", " NULL "),
    ("decimal-None", "EffectiveCost", "None", "None"),
    ("decimal-exponent-no-digits", "BilledCost", "e5", "e5"),
    # DESIGN.md's exact grammar: digits, then optionally '.' and digits: no bare leading or trailing '.'
    ("decimal-no-integer-digits", "BilledCost", ".5", ".5"),
    ("decimal-minus-no-integer-digits", "EffectiveCost", "-.5", "-.5"),
    ("decimal-no-fraction-digits", "BilledCost", "1.", "1."),
    ("decimal-dot-exponent", "BilledCost", "1.e5", "1.e5"),
    ("overflow-money-1234567", "BilledCost", "1234567.0", "1234567.0"),
    ("overflow-money-negative", "EffectiveCost", "-1000000", "-1000000"),
    ("overflow-money-after-rounding", "BilledCost", "999999." + "9" * 33, "999999." + "9" * 33),
    ("overflow-money-exponent", "BilledCost", "1e6", "1e6"),
    ("overflow-money-huge-exponent", "BilledCost", "1e400", "1e400"),
    ("overflow-quantity", "ConsumedQuantity", "1" + "0" * 20, "1" + "0" * 20),
    ("quantity-thousands", "PricingQuantity", '"1,000"', "1,000"),
    ("date-impossible-feb-30", "ChargePeriodStart", "2024-02-30T00:00:00Z", "2024-02-30T00:00:00Z"),
    ("date-not-leap", "ChargePeriodStart", "2023-02-29 10:00:00", "2023-02-29 10:00:00"),
    ("date-hour-24", "ChargePeriodStart", "2024-09-18T24:00:00Z", "2024-09-18T24:00:00Z"),
    ("date-minute-60", "ChargePeriodStart", "2024-09-18T10:60:00Z", "2024-09-18T10:60:00Z"),
    ("date-month-13", "ChargePeriodStart", "2024-13-01T00:00:00Z", "2024-13-01T00:00:00Z"),
    ("date-words", "ChargePeriodStart", "yesterday", "yesterday"),
    ("date-slashes", "ChargePeriodStart", "2024/09/18 10:00:00", "2024/09/18 10:00:00"),
    ("date-european", "ChargePeriodStart", "18.09.2024 10:00", "18.09.2024 10:00"),
    ("date-epoch-number", "ChargePeriodStart", "1726653600", "1726653600"),
    ("date-leading-space", "ChargePeriodStart", " 2024-09-18T10:00:00Z", " 2024-09-18T10:00:00Z"),
    ("date-trailing-space", "ChargePeriodStart", "2024-09-18T10:00:00Z ", "2024-09-18T10:00:00Z "),
    ("date-one-digit-month", "ChargePeriodStart", "2024-9-18T10:00:00Z", "2024-9-18T10:00:00Z"),
    ("date-empty-fraction", "ChargePeriodStart", "2024-09-18T10:00:00.Z", "2024-09-18T10:00:00.Z"),
    # DESIGN.md: Z, naive, fractions, missing seconds and +hh:mm offsets; "anything else is an error"
    ("date-only", "ChargePeriodStart", "2024-09-18", "2024-09-18"),
    ("date-offset-without-colon", "ChargePeriodStart", "2024-09-18T10:00:00+0200", "2024-09-18T10:00:00+0200"),
    ("date-offset-hours-only", "ChargePeriodStart", "2024-09-18T10:00:00+02", "2024-09-18T10:00:00+02"),
    ("date-lowercase-z", "ChargePeriodStart", "2024-09-18T10:00:00z", "2024-09-18T10:00:00z"),
    ("date-offset-24h", "ChargePeriodStart", "2024-09-18T10:00:00+24:00", "2024-09-18T10:00:00+24:00"),
    ("date-trailing-junk", "ChargePeriodStart", "2024-09-18T10:00:00Zjunk", "2024-09-18T10:00:00Zjunk"),
    ("date-bad-other-column", "ChargePeriodEnd", "2024-09-31T00:00:00Z", "2024-09-31T00:00:00Z"),
    ("null-cps-empty", "ChargePeriodStart", "", ""),
    ("null-cps-NULL", "ChargePeriodStart", "NULL", "NULL"),
    ("null-cps-quoted-null", "ChargePeriodStart", '"null"', "null"),
    ("tags-truncated-json", "Tags", quote('{"env":'), '{"env":'),
    ("tags-not-json", "Tags", "env=prod", "env=prod"),
    ("tags-trailing-comma", "Tags", quote('{"a":"1",}'), '{"a":"1",}'),
    ("tags-single-quotes", "Tags", quote("{'a':'1'}"), "{'a':'1'}"),
    ("tags-NaN-value", "Tags", quote('{"a":NaN}'), '{"a":NaN}'),
    ("tags-trailing-data", "Tags", quote('{"a":"1"} x'), '{"a":"1"} x'),
    ("tags-nested-object", "Tags", quote('{"a":{"b":"c"}}'), '{"a":{"b":"c"}}'),
    ("tags-nested-array", "Tags", quote('{"a":["x","y"]}'), '{"a":["x","y"]}'),
    ("tags-array", "Tags", quote('["a","b"]'), '["a","b"]'),
    ("tags-string", "Tags", quote('"prod"'), '"prod"'),
    ("tags-number", "Tags", "42", "42"),
]


def test_value_cases_are_invalid_by_the_python_rules():
    """Guard on the test itself: every case above is refused by the independent rules too."""
    for case_id, column, _, value in VALUE_CASES:
        if column == "ChargePeriodStart" and value in ("", "NULL", "null"):
            continue  # null, which is refused only for ChargePeriodStart
        with pytest.raises(Invalid):
            convert_value(column, value)


@pytest.mark.parametrize("column,cell,value", [c[1:] for c in VALUE_CASES], ids=[c[0] for c in VALUE_CASES])
def test_bad_value_is_located(column, cell, value, tmp_path, ingest, out_dir):
    src, line = file_with_bad_row(tmp_path / "bad.csv", column, cell)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, line, col(column), column, value)


@pytest.mark.parametrize("cell", ["1234567.0", "999999." + "9" * 33])
def test_money_overflow_says_how_to_fix(cell, tmp_path, ingest, out_dir):
    src, line = file_with_bad_row(tmp_path / "big.csv", "BilledCost", cell)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    msg = assert_located(r, src, line, col("BilledCost"), "BilledCost", cell)
    assert "--money-scale" in msg or "--money-scale" in r.stderr, f"overflow error gives no hint: {msg}"


@pytest.mark.parametrize("extra", [1, -1], ids=["too-many-fields", "too-few-fields"])
def test_ragged_row(extra, tmp_path, ingest, out_dir):
    lines = [line_of(good_cells(i)) for i in range(4)]
    cells = [quote(good_cells(4)[h]) for h in BASE_HEADER]
    cells = cells + ["surplus"] if extra > 0 else cells[:-1]
    lines.append(",".join(cells))
    lines.append(line_of(good_cells(5)))
    src = write_csv(tmp_path / "ragged.csv", lines)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    # A record-level error: the line is exact; the field number is optional.
    assert_located(r, src, 6, None, None)


def test_broken_quote_bare_quote_in_unquoted_field(tmp_path, ingest, out_dir):
    src, line = file_with_bad_row(tmp_path / "q.csv", "ResourceName", 'my "vm" name')
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, line, col("ResourceName"), "ResourceName")


def test_broken_quote_text_after_closing_quote(tmp_path, ingest, out_dir):
    src, line = file_with_bad_row(tmp_path / "q.csv", "ResourceName", '"vm"name')
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, line, col("ResourceName"), "ResourceName")


def test_broken_quote_never_closed(tmp_path, ingest, out_dir):
    """An opening quote never closed swallows the rest of the file: located at its record."""
    lines = [line_of(good_cells(i)) for i in range(3)]
    bad = good_cells(3)
    bad["ResourceName"] = '"unterminated name'
    lines.append(line_of(bad, raw={"ResourceName"}))
    lines += [line_of(good_cells(4 + i)) for i in range(3)]
    src = write_csv(tmp_path / "open-quote.csv", lines)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, 5, col("ResourceName"), "ResourceName")


def test_invalid_utf8(tmp_path, ingest, out_dir):
    src, line = file_with_bad_row(tmp_path / "latin1.csv", "ResourceName", "caf\x00")
    data = src.read_bytes().replace(b"caf\x00", b"caf\xe9")  # a Latin-1 byte, not UTF-8
    src.write_bytes(data)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    msg = assert_located(r, src, line, col("ResourceName"), "ResourceName")
    assert re.search(r"(?i)utf-?8", msg), msg


def test_missing_charge_period_start_column(tmp_path, ingest, out_dir):
    header = [h for h in BASE_HEADER if h != "ChargePeriodStart"]
    src = write_csv(tmp_path / "nocps.csv", [line_of(good_cells(i), header) for i in range(3)], header)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert re.search(rf"(?m)^focus-ingest: {source_alternatives(src)}:1(?::\d+)?: .*ChargePeriodStart",
                     r.stderr), str(r)


@pytest.mark.parametrize("dup", ["BilledCost", "billedcost", "x_Team"])
def test_duplicated_column(dup, tmp_path, ingest, out_dir):
    header = BASE_HEADER + [dup]
    lines = [line_of(good_cells(i)) + ",1" for i in range(3)]
    src = write_csv(tmp_path / "dup.csv", lines, header)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, 1, len(header), dup)


def test_empty_file(tmp_path, ingest, out_dir):
    src = tmp_path / "empty.csv"
    src.write_bytes(b"")
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert re.search(rf"(?m)^focus-ingest: {source_alternatives(src)}\S*: \S", r.stderr), str(r)


def test_truncated_gzip(tmp_path, ingest, out_dir):
    lines = [line_of(good_cells(i)) for i in range(3000)]
    full = gzip.compress(("\n".join([",".join(BASE_HEADER)] + lines) + "\n").encode())
    src = tmp_path / "cut.csv.gz"
    src.write_bytes(full[: len(full) * 6 // 10])
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    m = re.search(rf"(?m)^focus-ingest: {source_alternatives(src)}\S*: .*", r.stderr)
    assert m, str(r)
    assert re.search(r"(?i)gzip|compress|unexpected EOF|truncat|corrupt", m.group(0)), m.group(0)


def test_bad_last_row_of_100k_rows(tmp_path, ingest, out_dir):
    """However late the bad row, nothing is committed."""
    src = tmp_path / "big.csv"
    n = 100_000
    with open(src, "w", newline="") as fh:
        fh.write(",".join(BASE_HEADER) + "\n")
        for i in range(n):
            day = 1 + i % 28
            fh.write(f"2024-09-{day:02d}T{i % 24:02d}:00:00Z,2024-09-{day:02d}T{i % 24:02d}:30:00Z,"
                     f"{i % 997}.{i:08d},0.5,0.0001,{i}.5,1,res-{i % 100},vm {i},Compute,"
                     f"\"{{\"\"env\"\":\"\"e{i % 4}\"\"}}\",team\n")
        fh.write("2024-09-30T00:00:00Z,2024-09-30T01:00:00Z,abc,0.5,0.0001,1,1,res-x,vm,Compute,,team\n")
    r = ingest(src, out_dir, timeout=600)
    _fails(r, out_dir)
    assert_located(r, src, n + 2, col("BilledCost"), "BilledCost", "abc")


def test_line_numbers_count_newlines_inside_quoted_fields(tmp_path, ingest, out_dir):
    """The reported line is where the record starts, counting embedded newlines."""
    a = good_cells(0)
    a["ResourceName"] = "first line\nsecond line"
    lines = [line_of(a), line_of(good_cells(1))]
    bad = good_cells(2)
    bad["EffectiveCost"] = "1.0.0"
    lines.append(line_of(bad))
    src = write_csv(tmp_path / "ml.csv", lines)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, 5, col("EffectiveCost"), "EffectiveCost", "1.0.0")


def test_bad_value_after_newline_in_same_record(tmp_path, ingest, out_dir):
    a = good_cells(0)
    a["ResourceName"] = "first line\r\nsecond line\r\nthird"
    a["x_Team"] = "ok"
    lines = [line_of(good_cells(5)), line_of(dict(a, Tags='{"broken"'))]
    src = write_csv(tmp_path / "ml2.csv", lines, newline="\r\n", bom=True)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, 3, col("Tags"), "Tags", '{"broken"')


def test_crlf_bom_line_numbers(tmp_path, ingest, out_dir):
    lines = [line_of(good_cells(i)) for i in range(7)]
    bad = good_cells(7)
    bad["ChargePeriodStart"] = "2024-09-18T25:00:00Z"
    lines.insert(4, line_of(bad))
    src = write_csv(tmp_path / "crlf.csv", lines, newline="\r\n", bom=True)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, 6, col("ChargePeriodStart"), "ChargePeriodStart", "2024-09-18T25:00:00Z")


def test_bad_file_among_good_ones_commits_nothing(tmp_path, ingest, out_dir):
    """One job = all inputs: a bad second file rolls back the first file's rows too."""
    tree = tmp_path / "in" / "sub"
    tree.mkdir(parents=True)
    write_csv(tree / "a-good.csv", [line_of(good_cells(i)) for i in range(20)])
    bad, line = file_with_bad_row(tree / "b-bad.csv", "BilledCost", "12O.5")
    r = ingest(file_url(tmp_path / "in") + "/**/*.csv", out_dir)
    _fails(r, out_dir)
    assert_located(r, bad, line, col("BilledCost"), "BilledCost", "12O.5")


def test_failed_job_leaves_earlier_data_untouched(tmp_path, ingest, out_dir):
    good = write_csv(tmp_path / "good.csv", [line_of(good_cells(i)) for i in range(30)])
    r = ingest(good, out_dir)
    assert r.code == 0, str(r)
    before = sorted(parquet_files(out_dir))
    bad, line = file_with_bad_row(tmp_path / "bad.csv", "ChargePeriodStart", "2024-09-18T10:00:00 UTC")
    r = ingest(bad, out_dir)
    assert_no_crash(r)
    assert r.code == 1, str(r)
    assert_located(r, bad, line, col("ChargePeriodStart"), "ChargePeriodStart")
    assert sorted(parquet_files(out_dir)) == before
    assert_dataset(out_dir, expected_from_csv(good))


@pytest.mark.parametrize("column", ["ResourceName", "Tags", "BilledCost"])
def test_invalid_utf8_in_any_column(column, tmp_path, ingest, out_dir):
    marker = {"ResourceName": "vm\x00", "Tags": '{"k":"v\x00"}', "BilledCost": "1.5\x00"}[column]
    src, line = file_with_bad_row(tmp_path / "bad8.csv", column, quote(marker))
    src.write_bytes(src.read_bytes().replace(b"\x00", b"\xff\xfe"))
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, line, col(column), column)


def test_invalid_utf8_in_header(tmp_path, ingest, out_dir):
    header = BASE_HEADER[:-1] + ["x_Caf\x00"]
    src = write_csv(tmp_path / "h8.csv", [line_of(good_cells(i)) for i in range(2)], header)
    src.write_bytes(src.read_bytes().replace(b"\x00", b"\xe9"))
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, 1, len(header), None)


def test_missing_input_file(tmp_path, ingest, out_dir):
    r = ingest(tmp_path / "does-not-exist.csv", out_dir)
    assert_no_crash(r)
    assert r.code in (1, 2), str(r)
    assert "does-not-exist.csv" in r.stderr, str(r)
    assert_nothing_committed(out_dir)


def test_bad_row_inside_gzip_is_located(tmp_path, ingest, out_dir):
    plain, line = file_with_bad_row(tmp_path / "p.csv", "BilledCost", "1.5.5", good_before=2000)
    src = tmp_path / "bad.csv.gz"
    src.write_bytes(gzip.compress(plain.read_bytes()))
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert_located(r, src, line, col("BilledCost"), "BilledCost", "1.5.5")


def test_truncated_zstd(tmp_path, ingest, out_dir):
    plain = write_csv(tmp_path / "p.csv", [line_of(good_cells(i)) for i in range(3000)])
    full = zstd_compress(plain.read_bytes())
    src = tmp_path / "cut.csv.zst"
    src.write_bytes(full[: len(full) * 6 // 10])
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert re.search(rf"(?m)^focus-ingest: {source_alternatives(src)}\S*: .*", r.stderr), str(r)


@pytest.mark.parametrize("content", [b"\xef\xbb\xbf", gzip.compress(b""), b"\n\n"], ids=["bom-only", "gzip-of-nothing", "blank-lines"])
def test_file_without_header(content, tmp_path, ingest, out_dir):
    src = tmp_path / "nohead.csv"
    src.write_bytes(content)
    r = ingest(src, out_dir)
    _fails(r, out_dir)
    assert re.search(rf"(?m)^focus-ingest: {source_alternatives(src)}\S*: \S", r.stderr), str(r)
