"""Filtered reads: DuckDB and pyarrow prune row groups with the Parquet statistics the binary
wrote, so wrong min/max (signed decimals, timestamps, strings) would silently drop rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow.compute as pc

from conftest import SAMPLES
from focus_helpers import UTC, assert_no_crash, duck_glob, duck_query, expected_from_csv, hive_dataset
from synth import good_cells, line_of, write_csv

FILTERS = [
    # (DuckDB predicate, pyarrow expression, Python predicate over an expected row)
    ("BilledCost < 0", pc.field("BilledCost") < pc.scalar(Decimal(0)),
     lambda r: r["BilledCost"] is not None and r["BilledCost"] < 0),
    ("BilledCost > 0.5", None, lambda r: r["BilledCost"] is not None and r["BilledCost"] > Decimal("0.5")),
    ("BilledCost <= -100", None, lambda r: r["BilledCost"] is not None and r["BilledCost"] <= -100),
    ("BilledCost = 0", None, lambda r: r["BilledCost"] is not None and r["BilledCost"] == 0),
    ("ConsumedQuantity < -1000", None, lambda r: r["ConsumedQuantity"] is not None and r["ConsumedQuantity"] < -1000),
    ("ConsumedQuantity > 1000000", None, lambda r: r["ConsumedQuantity"] is not None and r["ConsumedQuantity"] > 1000000),
    ("ChargePeriodStart >= TIMESTAMPTZ '2024-09-19 12:00:00+00'", None,
     lambda r: r["ChargePeriodStart"] >= dt.datetime(2024, 9, 19, 12, tzinfo=UTC)),
    ("ChargePeriodEnd < TIMESTAMPTZ '1970-01-01 00:00:00+00'", None,
     lambda r: r["ChargePeriodEnd"] is not None and r["ChargePeriodEnd"] < dt.datetime(1970, 1, 1, tzinfo=UTC)),
    ("ResourceId = 'res-3'", pc.field("ResourceId") == "res-3", lambda r: r["ResourceId"] == "res-3"),
    ("ResourceName > 'name 5'", None, lambda r: r["ResourceName"] is not None and r["ResourceName"] > "name 5"),
    ("BilledCost IS NULL", None, lambda r: r["BilledCost"] is None),
]


def _check_filters(out, exp):
    glob = duck_glob(out, "costs_raw")
    for sql, _, pred in FILTERS:
        want = sum(1 for r in exp.rows if pred(r))
        got = duck_query(f"SELECT count(*) n FROM read_parquet(?, hive_partitioning=true, union_by_name=true) "
                         f"WHERE {sql}", [glob])[0]["n"]
        assert got == want, f"DuckDB WHERE {sql}: {got} rows, Python says {want}"
    dset = hive_dataset(out / "costs_raw")
    for sql, expr, pred in FILTERS:
        if expr is None:
            continue
        want = sum(1 for r in exp.rows if pred(r))
        assert dset.to_table(filter=expr).num_rows == want, f"pyarrow filter {expr}"


def test_filters_on_signed_decimals_timestamps_and_strings(tmp_path, ingest, out_dir):
    lines = []
    costs = ["-123.456", "0", "0.75", "-0.000000000000000000000000000001", "999999.9", "-999999.9",
             "5e-3", "-100", "", "42"]
    qtys = ["-5000", "1", "2000000", "-99999999999999999999", "0.5", "", "3", "-1000.5", "7", "12345678"]
    for i in range(200):
        c = good_cells(i)
        c["BilledCost"] = costs[i % len(costs)]
        c["ConsumedQuantity"] = qtys[(i * 3) % len(qtys)]
        c["ChargePeriodEnd"] = "1969-07-20T20:17:00Z" if i % 7 == 0 else c["ChargePeriodEnd"]
        lines.append(line_of(c))
    src = write_csv(tmp_path / "signed.csv", lines)
    exp = expected_from_csv(src)
    r = ingest(src, out_dir, "--batch-size", "16")  # several batches, so several row groups or files
    assert_no_crash(r)
    assert r.code == 0, str(r)
    _check_filters(out_dir, exp)


def test_filters_on_a_sample(ingest, out_dir):
    src = SAMPLES / "focus-1.2" / "aws_focus-1.2_costandusage_25rows_credits.csv"
    exp = expected_from_csv(src)
    r = ingest(src.resolve(), out_dir)
    assert r.code == 0, str(r)
    glob = duck_glob(out_dir, "costs_raw")
    want = sum(1 for x in exp.rows if x["BilledCost"] is not None and x["BilledCost"] < 0)
    got = duck_query("SELECT count(*) n FROM read_parquet(?, hive_partitioning=true) WHERE BilledCost < 0",
                     [glob])[0]["n"]
    assert got == want
