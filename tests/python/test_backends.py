"""Independent check of the cross-backend run (S3 <-> Azure Blob).

The Go test TestCrossBackend (cmd/focus-ingest) runs focus-ingest from s3://
inputs on moto to an azblob:// lake on Azurite and back, downloads both lakes
and runs this file with FOCUS_BACKENDS_LAKES (the two lake directories,
':'-separated) and FOCUS_BACKENDS_SAMPLES (the testdata/focus files it
ingested, comma-separated). Here the Parquet is read with pyarrow and DuckDB,
and rows and BilledCost per day are compared exactly with what Python's csv
and decimal compute from the CSV text. Without those variables (a plain
`make py-test`) the tests are skipped, saying where they run.
"""

from __future__ import annotations

import csv
import decimal
import os
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "testdata" / "focus"
LAKES = [Path(p) for p in os.environ.get("FOCUS_BACKENDS_LAKES", "").split(os.pathsep) if p]
FILES = [f for f in os.environ.get("FOCUS_BACKENDS_SAMPLES", "").split(",") if f]

pytestmark = pytest.mark.skipif(
    not LAKES or not FILES,
    reason="driven by the Go test: go test ./cmd/focus-ingest -run TestCrossBackend",
)

NULLS = {"", "NULL", "null"}

# Sums of decimal128(38,32) values need more than the default 28 digits.
decimal.getcontext().prec = 120


def utc_day(text: str) -> str:
    text = text.strip()
    for layout in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            ts = datetime.strptime(text.replace("Z", "+00:00"), layout)
        except ValueError:
            continue
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        return ts.astimezone(timezone.utc).strftime("%Y-%m-%d")
    raise AssertionError(f"timestamp {text!r}: no layout matches")


def expected() -> dict[str, tuple[int, Decimal]]:
    out: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for rel in FILES:
        with open(SAMPLES / rel, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader)]
            ts, cost = header.index("chargeperiodstart"), header.index("billedcost")
            for row in reader:
                day = out[utc_day(row[ts])]
                day[0] += 1
                if row[cost] not in NULLS:
                    day[1] += Decimal(row[cost])
    return {k: (v[0], v[1]) for k, v in out.items()}


def day_of(year, month, day) -> str:
    return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"


@pytest.mark.parametrize("lake", LAKES, ids=lambda p: p.name)
def test_pyarrow_rows_and_money_per_day(lake: Path):
    d = ds.dataset(lake / "costs_raw", format="parquet", partitioning="hive")
    schema = pa.unify_schemas([d.schema] + [f.physical_schema for f in d.get_fragments()])
    table = ds.dataset(lake / "costs_raw", format="parquet", partitioning="hive", schema=schema).to_table(
        columns=["year", "month", "day", "BilledCost"])
    assert pa.types.is_decimal(table.schema.field("BilledCost").type)
    got: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for y, m, dd, cost in zip(*(table.column(c).to_pylist() for c in ("year", "month", "day", "BilledCost"))):
        g = got[day_of(y, m, dd)]
        g[0] += 1
        if cost is not None:
            g[1] += cost
    assert {k: (v[0], v[1]) for k, v in got.items()} == expected()


@pytest.mark.parametrize("lake", LAKES, ids=lambda p: p.name)
def test_duckdb_row_counts_per_day(lake: Path):
    glob = str(lake / "costs_raw" / "**" / "*.parquet")
    rows = duckdb.sql(
        f"SELECT year, month, day, count(*) FROM read_parquet('{glob}', hive_partitioning = true, "
        "union_by_name = true) GROUP BY ALL").fetchall()
    got = {day_of(y, m, d): n for y, m, d, n in rows}
    assert got == {k: v[0] for k, v in expected().items()}
    assert sum(got.values()) == 1125 or len(FILES) != 3
