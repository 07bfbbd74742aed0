"""`focus-ingest push`, `get` and `stats` (the binary's client subcommands) against the real server
binary: the files `get` writes (CSV, Parquet, Arrow IPC) are read with pyarrow, DuckDB and Python's
csv, and their exact money sums compared with Python decimal sums of the source CSVs."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from focus_helpers import duck_query

REPO = Path(__file__).resolve().parents[2]
AWS = REPO / "testdata" / "focus" / "focus-1.2" / "aws_focus-1.2_costandusage_100rows.csv"
GCP = REPO / "testdata" / "focus" / "focus-1.3" / "gcp_focus-1.3_costandusage_100rows.csv"
MONEY = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"]
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def exact_sums(rows: list[dict]) -> dict:
    return {c: sum((Decimal(r[c]) for r in rows if r.get(c) not in (None, "", "NULL", "null")), Decimal(0))
            for c in MONEY}


def table_sums(table: pa.Table) -> dict:
    return {c: sum((v for v in table.column(c).to_pylist() if v is not None), Decimal(0)) for c in MONEY}


def test_push_get_stats(flight_server, cli, tmp_path):
    location, _ = flight_server
    srv = ["--server", location]
    run = cli("push", *srv, "--progress", "always", AWS, GCP)
    assert run.code == 0, run
    assert run.stdout.count("committed") == 2, run
    assert "100%" in run.stderr and "KiB" in run.stderr, run  # the progress bar, as lines off a terminal

    run = cli("stats", *srv, "--json")
    assert run.code == 0, run
    stats = {d["name"]: d for d in json.loads(run.stdout)["datasets"]}
    assert stats["costs_raw"]["rows"] == 200 and stats["tags_index"]["rows"] > 0

    want = exact_sums(csv_rows(AWS) + csv_rows(GCP))
    out = tmp_path / "out"
    out.mkdir()

    run = cli("get", *srv, "--out", out / "costs.parquet", "--parallel", "3")
    assert run.code == 0, run
    table = pq.read_table(out / "costs.parquet")
    assert table.num_rows == 200
    assert table.schema.field("BilledCost").type == pa.decimal128(38, 32)
    assert table.schema.field("ChargePeriodStart").type == pa.timestamp("us", tz="UTC")
    assert table_sums(table) == want
    duck = duck_query("SELECT count(*) AS n, sum(BilledCost)::VARCHAR AS billed FROM read_parquet(?)",
                      [str(out / "costs.parquet")])[0]
    assert duck["n"] == 200 and Decimal(duck["billed"]) == want["BilledCost"]

    run = cli("get", *srv, "--out", out / "costs.csv", "--columns", ",".join(MONEY + ["ChargePeriodStart", "Tags"]))
    assert run.code == 0, run
    rows = csv_rows(out / "costs.csv")
    assert len(rows) == 200
    assert exact_sums(rows) == want
    assert all(RFC3339_UTC.match(r["ChargePeriodStart"]) for r in rows), rows[0]
    assert all(r["Tags"] == "" or isinstance(json.loads(r["Tags"]), dict) for r in rows)
    assert all("e" not in r["BilledCost"].lower() for r in rows)  # decimal text, never float notation

    run = cli("get", *srv, "--out", out / "tags.arrow", "--dataset", "tags_index")
    assert run.code == 0, run
    with pa.memory_map(str(out / "tags.arrow")) as src:
        tags = ipc.open_file(src).read_all()
    assert tags.num_rows == stats["tags_index"]["rows"]
    assert tags.column_names[:3] == ["resource_id", "tag_key", "tag_value"]

    run = cli("get", *srv, "--out", out / "one.csv", "--start", "2026-05-01", "--end", "2026-05-02")
    assert run.code == 0, run
    want_day = exact_sums([r for r in csv_rows(AWS) + csv_rows(GCP) if r["ChargePeriodStart"].startswith("2026-05-01")])
    assert exact_sums(csv_rows(out / "one.csv")) == want_day


def test_get_error_leaves_no_file(flight_server, cli, tmp_path):
    location, _ = flight_server
    out = tmp_path / "out"
    out.mkdir()
    run = cli("get", "--server", location, "--out", out / "x.csv", "--start", "2026-05-02", "--end", "2026-05-01")
    assert run.code == 1, run
    assert "InvalidArgument" in run.stderr, run
    assert list(out.iterdir()) == []
