"""The Flight server (`focus-ingest serve`) from stock pyarrow.flight: push a sample as byte chunks,
read it back with DoGet and compare exact money sums with Python's decimal; DoAction ingest of a
file:// URL under --allow-source, and refused outside it."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from focus_helpers import file_url

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "testdata" / "focus" / "focus-1.2" / "aws_focus-1.2_costandusage_100rows.csv"
CHUNK = pa.schema([("chunk", pa.binary())])


@pytest.fixture
def server(focus_bin, tmp_path):
    """Starts `focus-ingest serve` on 127.0.0.1:0, allowing tmp_path/in/; yields a connected client."""
    (tmp_path / "in").mkdir()
    proc = subprocess.Popen(
        [str(focus_bin), "serve", "--listen", "127.0.0.1:0", "--output", file_url(tmp_path / "lake"),
         "--allow-source", file_url(tmp_path / "in") + "/", "--shutdown-timeout", "2s"],
        stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    addr: list[str] = []
    ready = threading.Event()

    def read():
        for line in proc.stderr:
            lines.append(line)
            if m := re.search(r"msg=listening addr=(\S+)", line):
                addr.append(m.group(1))
                ready.set()
    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(20), "server not listening:\n" + "".join(lines)
        client = flight.connect(f"grpc://{addr[0]}")
        deadline = time.monotonic() + 20
        while True:  # Unavailable until the dataset is open
            try:
                list(client.list_actions())
                break
            except flight.FlightUnavailableError:
                assert time.monotonic() < deadline, "server not ready:\n" + "".join(lines)
                time.sleep(0.05)
        yield client, tmp_path
        client.close()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0, "".join(lines)


def billed_sum(path: Path) -> Decimal:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return sum((Decimal(r["BilledCost"]) for r in csv.DictReader(f) if r["BilledCost"]), Decimal(0))


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
