"""Flight and DuckDB clients for the benchmark (run by bench/run.py --flight, each as its own process).

    python bench/flight_client.py put ADDR CSV SOURCE [--chunk-mib 1]
    python bench/flight_client.py get ADDR START END [--parallel 4]
    python bench/flight_client.py duckdb-read LAKE [--threads 2]
    python bench/flight_client.py ready ADDR
    python bench/flight_client.py floor-serve LAKE

put   streams CSV to `focus-ingest serve` at ADDR as DoPut chunks (one `chunk` binary column,
      per the design) and waits for the final summary;
get   asks GetFlightInfo for costs_raw in [START, END) and reads every endpoint with DoGet,
      in parallel, into one pyarrow Table;
duckdb-read reads LAKE/costs_raw/**/*.parquet (Hive partitions) into one Arrow table with
      duckdb.sql(...).arrow();
ready waits (up to 30 s) until the server at ADDR answers Flight calls (it answers Unavailable
      until its dataset is open).
floor-serve is the transport floor for `get`: pyarrow's own (C++) Flight server holding LAKE's
      costs_raw in memory, already decoded and cut into batches of at most 4 MiB, one endpoint
      per day. A DoGet then costs only the wire and the client: the floor for a server that
      must also decode the Parquet files. It prints "ready PORT" and serves until killed.

Each prints one JSON line with the seconds the work took inside the process (Python start-up,
imports and connecting excluded) and what it got (rows, columns, bytes).
"""

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

CHUNK_FIELD = "chunk"


def put(args):
    import pyarrow as pa
    import pyarrow.flight as flight
    schema = pa.schema([(CHUNK_FIELD, pa.binary())])
    client = flight.connect(f"grpc://{args.addr}")
    size = args.chunk_mib << 20
    cmd = {"source": args.source, "format": "csv", "compression": "auto"}
    t = time.perf_counter()
    writer, reader = client.do_put(flight.FlightDescriptor.for_command(json.dumps(cmd)), schema)
    sent = 0
    with open(args.csv, "rb") as f:
        while data := f.read(size):
            writer.write_batch(pa.record_batch([pa.array([data], pa.binary())], schema=schema))
            sent += len(data)
    writer.done_writing()
    summary = None
    while (msg := reader.read()) is not None:
        summary = json.loads(msg.to_pybytes())
    writer.close()
    seconds = time.perf_counter() - t
    client.close()
    return {"seconds": seconds, "bytes": sent, "summary": summary,
            "rows": (summary or {}).get("rows", {}).get("costs_raw")}


def get(args):
    import pyarrow as pa
    import pyarrow.flight as flight
    addr = f"grpc://{args.addr}"
    client = flight.connect(addr)
    query = {"dataset": "costs_raw", "start": args.start, "end": args.end}
    t = time.perf_counter()
    info = client.get_flight_info(flight.FlightDescriptor.for_command(json.dumps(query)))

    def fetch(ep):
        c = flight.connect(addr)  # one connection per worker: the endpoints stream at once
        try:
            return c.do_get(ep.ticket).read_all()
        finally:
            c.close()

    with ThreadPoolExecutor(args.parallel) as pool:
        tables = list(pool.map(fetch, info.endpoints))
    table = pa.concat_tables(tables) if tables else info.schema.empty_table()
    seconds = time.perf_counter() - t
    client.close()
    return {"seconds": seconds, "rows": table.num_rows, "columns": table.num_columns,
            "bytes": table.nbytes, "endpoints": len(info.endpoints),
            "total_records": info.total_records}


def duckdb_read(args):
    import duckdb
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    t = time.perf_counter()
    table = con.sql(f"select * from read_parquet('{args.lake}/costs_raw/**/*.parquet', "
                    "hive_partitioning=true)").arrow()
    if hasattr(table, "read_all"):  # DuckDB 1.4+ may return a RecordBatchReader
        table = table.read_all()
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "rows": table.num_rows, "columns": table.num_columns,
            "bytes": table.nbytes}


def ready(args):
    import pyarrow.flight as flight
    client = flight.connect(f"grpc://{args.addr}")
    deadline = time.monotonic() + 30
    while True:
        try:
            list(client.list_actions())
            return {"seconds": 0, "ready": True}
        except flight.FlightUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def floor_serve(args):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.flight as flight
    table = ds.dataset(f"{args.lake}/costs_raw", format="parquet", partitioning="hive").to_table()
    days = {}
    keys = table.select(["year", "month", "day"]).group_by(["year", "month", "day"]).aggregate([])
    for k in sorted(keys.to_pylist(), key=lambda k: (k["year"], k["month"], k["day"])):
        part = table.filter((pc.field("year") == k["year"]) & (pc.field("month") == k["month"]) &
                            (pc.field("day") == k["day"])).combine_chunks()
        rows = max(1, int(part.num_rows * (4 << 20) * 0.9 / max(1, part.nbytes)))
        days["{year}-{month}-{day}".format(**k).encode()] = part.to_batches(max_chunksize=rows)
    schema = table.schema

    class Floor(flight.FlightServerBase):
        def get_flight_info(self, context, descriptor):
            eps = [flight.FlightEndpoint(k, []) for k in days]
            return flight.FlightInfo(schema, descriptor, eps, table.num_rows, -1)

        def do_get(self, context, ticket):
            return flight.RecordBatchStream(pa.RecordBatchReader.from_batches(schema, days[ticket.ticket]))

    server = Floor("grpc://127.0.0.1:0")
    print(f"ready {server.port}", flush=True)
    server.serve()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("put")
    p.add_argument("addr")
    p.add_argument("csv")
    p.add_argument("source")
    p.add_argument("--chunk-mib", type=int, default=1)
    g = sub.add_parser("get")
    g.add_argument("addr")
    g.add_argument("start")
    g.add_argument("end")
    g.add_argument("--parallel", type=int, default=4)
    d = sub.add_parser("duckdb-read")
    d.add_argument("lake")
    d.add_argument("--threads", type=int, default=2)
    r = sub.add_parser("ready")
    r.add_argument("addr")
    f = sub.add_parser("floor-serve")
    f.add_argument("lake")
    args = ap.parse_args()
    if args.cmd == "floor-serve":
        return floor_serve(args)
    fn = {"put": put, "get": get, "duckdb-read": duckdb_read, "ready": ready}[args.cmd]
    print(json.dumps(fn(args)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
