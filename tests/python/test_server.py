"""The Flight server (`focus-ingest serve`) from stock pyarrow.flight: push a sample as byte chunks,
read it back with DoGet and compare exact money sums with Python's decimal; DoAction ingest of a
file:// URL under --allow-source, and refused outside it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from focus_helpers import billed_sum, file_url

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "testdata" / "focus" / "focus-1.2" / "aws_focus-1.2_costandusage_100rows.csv"
CHUNK = pa.schema([("chunk", pa.binary())])


def test_push_chunks_and_get(server):
    client, _ = server
    cmd = {"source": "aws-2026-05.csv", "format": "csv", "compression": "auto"}
    writer, reader = client.do_put(flight.FlightDescriptor.for_command(json.dumps(cmd)), CHUNK)
    data = SAMPLE.read_bytes()
    for i in range(0, len(data), 4096):  # many small chunks, split anywhere
        writer.write_batch(pa.record_batch([pa.array([data[i:i + 4096]], pa.binary())], schema=CHUNK))
    writer.done_writing()
    summary = None
    while (msg := reader.read()) is not None:
        summary = json.loads(msg.to_pybytes())
    writer.close()
    assert summary["status"] == "committed"
    assert summary["rows"]["costs_raw"] == 100

    ticket = {"dataset": "costs_raw", "start": "2026-05-01", "end": "2026-06-01",
              "columns": ["ResourceId", "BilledCost"]}
    table = client.do_get(flight.Ticket(json.dumps(ticket))).read_all()
    assert table.num_rows == 100
    assert table.schema.field("BilledCost").type == pa.decimal128(38, 32)
    got = sum((v for v in table.column("BilledCost").to_pylist() if v is not None), Decimal(0))
    assert got == billed_sum(SAMPLE)


def run_ingest(client, source: str):
    body = json.dumps({"sources": [source]}).encode()
    return [json.loads(r.body.to_pybytes()) for r in client.do_action(flight.Action("ingest", body))]


def test_ingest_action_allow_source(server):
    client, tmp = server
    (tmp / "in" / "a.csv").write_bytes(SAMPLE.read_bytes())
    (tmp / "secret.csv").write_bytes(SAMPLE.read_bytes())
    results = run_ingest(client, file_url(tmp / "in" / "a.csv"))
    assert results[-1]["status"] == "committed"
    assert results[-1]["rows"]["costs_raw"] == 100
    with pytest.raises(flight.FlightError, match="allow-source"):
        run_ingest(client, file_url(tmp / "secret.csv"))
