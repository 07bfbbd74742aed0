"""Request and input limits of `focus-ingest serve`, from stock pyarrow.flight, at the defaults:
requests over 1 MiB and a gzip bomb pushed as chunks are refused with INVALID_ARGUMENT naming the
flag, and nothing is committed."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from test_server import CHUNK

REFUSED = (flight.FlightError, pa.ArrowInvalid)


def test_request_size(server):
    client, tmp = server
    big = json.dumps({"sources": ["file:///x/" + "a" * (1 << 20) + ".csv"]}).encode()
    with pytest.raises(REFUSED, match=r"action body is \d+ bytes, more than the limit of 1048576 bytes .*--max-request-size"):
        list(client.do_action(flight.Action("ingest", big)))
    ticket = json.dumps({"dataset": "costs_raw", "columns": ["c" * (1 << 20)]}).encode()
    with pytest.raises(REFUSED, match="ticket is .*--max-request-size"):
        client.do_get(flight.Ticket(ticket)).read_all()
    many = json.dumps({"sources": [f"file:///x/{i}.csv" for i in range(1001)]}).encode()
    with pytest.raises(REFUSED, match=r"1001 sources, more than the limit of 1000 .*--max-sources"):
        list(client.do_action(flight.Action("ingest", many)))


def test_gzip_bomb_chunks(server):
    client, tmp = server
    row = b"2024-09-01T00:00:00Z,1.25\n"
    bomb = gzip.compress(b"ChargePeriodStart,BilledCost\n" + row * ((16 << 20) // len(row)), 9)
    cmd = {"source": "bomb.csv.gz"}
    writer, reader = client.do_put(flight.FlightDescriptor.for_command(json.dumps(cmd)), CHUNK)
    with pytest.raises(REFUSED, match=r"bomb\.csv\.gz:\d+: limit exceeded: gzip input decompresses to more than 200 times .*--max-compression-ratio"):
        for off in range(0, len(bomb), 16 << 10):
            writer.write_batch(pa.record_batch([pa.array([bomb[off:off + (16 << 10)]], pa.binary())], schema=CHUNK))
        writer.done_writing()
        while reader.read() is not None:
            pass
        writer.close()
    stats = [json.loads(r.body.to_pybytes()) for r in client.do_action(flight.Action("stats", b""))]
    assert all(d["rows"] == 0 for d in stats[-1]["datasets"]), stats
