"""client/python/README.md, run as written against the real server binary with stock pyarrow.flight;
then list actions and flights, and every endpoint fetched in parallel, with exact money sums
compared against the source CSVs read with csv and decimal."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from focus_helpers import file_url

REPO = Path(__file__).resolve().parents[2]
README = REPO / "client" / "python" / "README.md"
AWS = REPO / "testdata" / "focus" / "focus-1.2" / "aws_focus-1.2_costandusage_100rows.csv"
GCP = REPO / "testdata" / "focus" / "focus-1.3" / "gcp_focus-1.3_costandusage_100rows.csv"
MONEY = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"]


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def money_sums(*paths: Path) -> dict:
    """Exact sums of the money columns over the source files (empty or NULL is null)."""
    sums = {c: Decimal(0) for c in MONEY}
    for p in paths:
        for r in csv_rows(p):
            for c in MONEY:
                if r.get(c) not in (None, "", "NULL", "null"):
                    sums[c] += Decimal(r[c])
    return sums


def column_sum(table: pa.Table, name: str) -> Decimal:
    return sum((v for v in table.column(name).to_pylist() if v is not None), Decimal(0))


def readme_blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 6, f"{README} lost its examples"
    return blocks


def test_readme_examples(flight_server, monkeypatch):
    location, tmp = flight_server
    export = tmp / "aws-2026-05.csv"
    shutil.copy(AWS, export)
    shutil.copy(GCP, tmp / "in" / "gcp-2026-05.csv")
    monkeypatch.setenv("FOCUS_SERVER", location)
    monkeypatch.setenv("FOCUS_EXPORT", str(export))
    monkeypatch.setenv("FOCUS_SOURCE_URL", file_url(tmp / "in" / "gcp-2026-05.csv"))
    monkeypatch.delenv("FOCUS_TOKEN", raising=False)
    ns: dict = {}
    out = io.StringIO()
    with redirect_stdout(out):
        for i, block in enumerate(readme_blocks()):
            exec(compile(block, f"{README}:block{i + 1}", "exec"), ns)
    printed = out.getvalue()
    try:
        assert ns["summary"]["status"] == "committed" and ns["summary"]["rows"]["costs_raw"] == 100
        assert ns["ingested"]["status"] == "committed" and ns["ingested"]["rows"]["costs_raw"] == 100
        assert ns["table"].num_rows == 200
        assert ns["billed"] == money_sums(AWS, GCP)["BilledCost"]
        assert ns["together"].equals(ns["table"]), "endpoints fetched in parallel differ from one DoGet"
        assert [a.type for a in ns["client"].list_actions()] == ["ingest", "validate", "stats", "vacuum"]
        assert "not found:" in printed
    finally:
        ns["client"].close()


def push(client: flight.FlightClient, path: Path, source: str) -> dict:
    schema = pa.schema([("chunk", pa.binary())])
    cmd = json.dumps({"source": source})
    writer, reader = client.do_put(flight.FlightDescriptor.for_command(cmd), schema)
    data = path.read_bytes()
    for i in range(0, len(data), 10_000):
        writer.write_batch(pa.record_batch([pa.array([data[i:i + 10_000]], pa.binary())], schema=schema))
    writer.done_writing()
    last = None
    while (msg := reader.read()) is not None:
        last = json.loads(msg.to_pybytes())
    writer.close()
    return last


def test_list_actions_and_flights(flight_server):
    location, _ = flight_server
    with flight.connect(location) as client:
        actions = {a.type: a.description for a in client.list_actions()}
        assert sorted(actions) == ["ingest", "stats", "vacuum", "validate"]
        assert all(actions.values()), actions
        assert push(client, AWS, "aws.csv")["status"] == "committed"
        infos = list(client.list_flights())
        assert [i.descriptor.path for i in infos] == [[b"costs_raw"], [b"tags_index"]]
        costs = infos[0]
        assert costs.total_records == 100
        days = {r["ChargePeriodStart"][:10] for r in csv_rows(AWS)}  # the sample's stamps are UTC (Z)
        assert len(costs.endpoints) == len(days)
        assert costs.schema.field("BilledCost").type == pa.decimal128(38, 32)


def test_parallel_fetch_exact_sums(flight_server):
    location, tmp = flight_server
    with flight.connect(location) as client:
        assert push(client, AWS, "aws.csv")["rows"]["costs_raw"] == 100
        shutil.copy(GCP, tmp / "in" / "gcp.csv")
        body = json.dumps({"sources": [file_url(tmp / "in" / "gcp.csv")]}).encode()
        results = [json.loads(r.body.to_pybytes()) for r in client.do_action(flight.Action("ingest", body))]
        assert results[-1]["status"] == "committed"

        ticket = {"dataset": "costs_raw", "columns": MONEY + ["ChargePeriodStart"]}
        info = client.get_flight_info(flight.FlightDescriptor.for_command(json.dumps(ticket)))
        with ThreadPoolExecutor(max_workers=8) as pool:
            parts = list(pool.map(lambda ep: client.do_get(ep.ticket).read_all(), info.endpoints))
        # One day per endpoint, in ascending order.
        days = []
        for part in parts:
            d = {(y, m, dd) for y, m, dd in zip(*(part.column(c).to_pylist() for c in ("year", "month", "day")))}
            assert len(d) == 1, d
            days.append(d.pop())
        assert days == sorted(days) and len(days) == len(set(days))
        table = pa.concat_tables(parts)
        assert table.num_rows == info.total_records == 200
        want = money_sums(AWS, GCP)
        for c in MONEY:
            assert column_sum(table, c) == want[c], c
        per_day = Counter(ts.strftime("%Y-%m-%d") for ts in table.column("ChargePeriodStart").to_pylist())
        src_days = Counter(r["ChargePeriodStart"][:10] for r in csv_rows(AWS) + csv_rows(GCP))
        assert per_day == src_days


def test_unknown_dataset_is_key_error(flight_server):
    location, _ = flight_server
    with flight.connect(location) as client, pytest.raises(pa.ArrowKeyError, match="costs_cooked"):
        client.do_get(flight.Ticket(json.dumps({"dataset": "costs_cooked"}))).read_all()
