#!/usr/bin/env python3
"""Benchmark focus-ingest against DuckDB doing the same job on the same FOCUS CSV.

    .venv/bin/python bench/run.py                        # 1,000,000 rows, 5 rounds
    .venv/bin/python bench/run.py --sizes 100000,1000000,5000000:3
    .venv/bin/python bench/run.py --quick                # 100,000 rows, 2 rounds, no RESULTS.md
    .venv/bin/python bench/run.py --check                # check the generator and the DuckDB side only
    .venv/bin/python bench/run.py --render               # rewrite RESULTS.md from results.json
    .venv/bin/python bench/run.py --flight               # also: DoPut vs CLI, DoGet vs DuckDB (issue #3)
    .venv/bin/python bench/run.py --flight-only --sizes 1000000:3

For each size (rows[:rounds]) the input is generated once by bench/gen and cached
in bench/work/ (keyed by rows, seed and the generator's source), read once to warm
the page cache, then each round runs focus-ingest and DuckDB as separate processes
on that file, alternating (ABBA: the tool that goes first swaps every round), each
into a fresh output directory. Every run's wall time, peak RSS and CPU time are
measured from outside (/usr/bin/time, or wait4 when it is missing), its output is
counted (costs_raw rows must equal the input rows; tags_index rows are compared
between the tools), and after the first round the two outputs are compared column
by column (types and an order-independent fingerprint of every column).

Results are kept per size in bench/results.json (a run replaces the sizes it ran)
and rendered, with the machine and the targets, to bench/RESULTS.md (plus the
hand-written bench/RESULTS-notes.md, when present: analysis and profile).
A failed run is recorded and shown as failed, never dropped.

With --flight (or --flight-only), each round of a size also starts `focus-ingest serve` on
127.0.0.1 with a fresh output directory and, alternating, (a) pushes the input with DoPut
(stock pyarrow.flight, bench/flight_client.py: the `chunk` binary column, 1 MiB chunks) against
the embedded CLI on the same file, then (b) reads the whole month back with GetFlightInfo and
DoGet of every endpoint (4 at once) into one pyarrow Table against DuckDB reading the same
Parquet files into Arrow, and (c) times the same DoGet from a pyarrow Flight server holding the
month in memory (`flight_client.py floor-serve`: the transport floor). Client times are taken inside the client processes (from the first
call to the last byte; Python start-up and imports excluded); the server's CPU is read from
/proc before and after each call, its peak RSS is the server process's.
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"
TIME_BIN = "/usr/bin/time"
TARGET_WALL_RATIO = 0.5
TARGET_RSS_MB = 512
FLAT_RSS_RATIO = 1.25  # peak RSS at the largest size / at the smallest, to call it flat
RUN_TIMEOUT = 3600


# ---------------------------------------------------------------- helpers

def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout.strip()


def try_sh(cmd, default="unknown"):
    try:
        return sh(cmd, cwd=ROOT)
    except (OSError, subprocess.CalledProcessError):
        return default


def median(xs):
    return statistics.median(xs) if xs else None


def fmt(x, nd=2):
    return "n/a" if x is None else f"{x:.{nd}f}"


def parse_sizes(text, rounds):
    out = []
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if not part:
            continue
        n, _, r = part.partition(":")
        out.append((int(n), int(r) if r else rounds))
    return out


# ---------------------------------------------------------------- input

def gen_source_hash():
    h = hashlib.sha256()
    for p in sorted((BENCH / "gen").glob("*.go")):
        if not p.name.endswith("_test.go"):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:10]


def build_gen():
    exe = WORK / "gen"
    sh(["go", "build", "-o", str(exe), "./bench/gen"], cwd=ROOT)
    return exe


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def input_file(gen, rows, seed):
    """The cached input for rows and seed, generated when missing; (path, sha256)."""
    path = WORK / f"focus-{rows}-s{seed}-{gen_source_hash()}.csv"
    sums = path.with_suffix(".sha256")
    if not path.exists() or not sums.exists():
        for old in WORK.glob(f"focus-{rows}-s{seed}-*.csv"):  # stale generator versions
            old.unlink()
        log(f"generating {rows:,} rows -> {path.name}")
        t = time.perf_counter()
        sh([str(gen), "-rows", str(rows), "-seed", str(seed), "-out", str(path)])
        log(f"  {path.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - t:.1f}s")
        sums.write_text(sha256_file(path) + "\n")
    return path, sums.read_text().strip()


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# ---------------------------------------------------------------- measuring

NICE = 0  # priority of the measured processes (--nice)


def set_priority():
    if NICE:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)


def measure(cmd, stdout_path, stderr_path):
    """Run cmd as a child; wall seconds, peak RSS (KB), user+sys CPU seconds, exit status."""
    load = os.getloadavg()[0]
    with open(stdout_path, "w") as out, open(stderr_path, "w") as err:
        if os.path.exists(TIME_BIN):
            tf = str(stdout_path) + ".time"
            full = [TIME_BIN, "-f", "%e %M %U %S %x", "-o", tf] + cmd
            t = time.perf_counter()
            p = subprocess.Popen(full, stdout=out, stderr=err, preexec_fn=set_priority)
            try:
                rc = p.wait(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = "timeout"
            wall = time.perf_counter() - t
            try:
                last = Path(tf).read_text().strip().splitlines()[-1].split()
                rss, cpu = int(last[1]), float(last[2]) + float(last[3])
                rc = int(last[4]) if rc != "timeout" else rc
            except (OSError, IndexError, ValueError):
                rss, cpu = None, None
        else:
            t = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=out, stderr=err, preexec_fn=set_priority)
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - t
            rc, rss, cpu = p.returncode, ru.ru_maxrss, ru.ru_utime + ru.ru_stime
    return {"wall": wall, "rss_kb": rss, "cpu": cpu, "rc": rc, "load1": round(load, 2)}


def duckdb_python_rss():
    """Peak RSS of a Python process that only imports DuckDB and runs one query."""
    code = "import duckdb; duckdb.connect().execute('select 42').fetchall()"
    m = measure([sys.executable, "-c", code], WORK / "baseline.out", WORK / "baseline.err")
    return m["rss_kb"]


# ---------------------------------------------------------------- verifying

def connect():
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'; SET threads = 1")
    return con


def glob_of(out, ds):
    return f"{out}/{ds}/**/*.parquet"


def count_output(out):
    """Rows and partitions of both datasets under out, read back by DuckDB."""
    con = connect()
    res = {}
    for ds in ("costs_raw", "tags_index"):
        files = list(Path(out, ds).rglob("*.parquet"))
        if not files:
            res[ds], res[ds + "_partitions"] = 0, 0
            continue
        q = (f"SELECT count(*), count(DISTINCT (year, month, day)) FROM "
             f"read_parquet('{glob_of(out, ds)}', hive_partitioning = true)")
        res[ds], res[ds + "_partitions"] = con.execute(q).fetchone()
    con.close()
    return res


def describe(con, out, ds):
    q = f"DESCRIBE SELECT * FROM read_parquet('{glob_of(out, ds)}', hive_partitioning = true)"
    return {r[0]: r[1] for r in con.execute(q).fetchall()}


def fingerprints(con, out, ds, cols):
    """An order-independent fingerprint of every column: sum of the value hashes, and null count."""
    exprs = ", ".join(f'sum(hash("{c}")::HUGEINT), count("{c}")' for c in cols)
    row = con.execute(f"SELECT {exprs} FROM read_parquet('{glob_of(out, ds)}', "
                      f"hive_partitioning = true)").fetchone()
    return {c: (row[2 * i], row[2 * i + 1]) for i, c in enumerate(cols)}


def compare_outputs(fi_out, dk_out):
    """Differences between focus-ingest's and DuckDB's datasets: types, column content, tag rows."""
    con = connect()
    report = {"type_diffs": [], "content_diffs": [], "only_focus": [], "only_duckdb": []}
    for ds in ("costs_raw", "tags_index"):
        a, b = describe(con, fi_out, ds), describe(con, dk_out, ds)
        report["only_focus"] += [f"{ds}.{c}" for c in a if c not in b]
        report["only_duckdb"] += [f"{ds}.{c}" for c in b if c not in a]
        common = [c for c in a if c in b]
        report["type_diffs"] += [f"{ds}.{c}: {a[c]} vs {b[c]}" for c in common if a[c] != b[c]]
        same_type = [c for c in common if a[c] == b[c]]
        fa, fb = fingerprints(con, fi_out, ds, same_type), fingerprints(con, dk_out, ds, same_type)
        report["content_diffs"] += [f"{ds}.{c}" for c in same_type if fa[c] != fb[c]]
    # tags_index as sets of (resource_id, tag_key, tag_value, date), both ways
    q = ("SELECT resource_id, tag_key, tag_value, CAST(date AS DATE) FROM "
         "read_parquet('{}', hive_partitioning = true)")
    for name, x, y in (("tags_only_focus", fi_out, dk_out), ("tags_only_duckdb", dk_out, fi_out)):
        sql = (f"SELECT count(*) FROM ({q.format(glob_of(x, 'tags_index'))} EXCEPT "
               f"{q.format(glob_of(y, 'tags_index'))})")
        try:
            report[name] = con.execute(sql).fetchone()[0]
        except Exception as e:  # a missing column is reported, not fatal
            report[name] = f"error: {e}".splitlines()[0]
    con.close()
    return report


# ---------------------------------------------------------------- running

def snapshot_bin(path):
    """A private copy of the binary, so that a concurrent `make build` cannot swap it mid-run."""
    digest = sha256_file(path)[:12]
    copy = WORK / f"focus-ingest-{digest}"
    if not copy.exists():
        shutil.copy2(path, copy)
    return str(copy)


def run_focus(args, csv, out, logs):
    cmd = [args.bin] + shlex.split(args.focus_args.format(input=csv, output=out))
    m = measure(cmd, logs.with_suffix(".out"), logs.with_suffix(".err"))
    m["cmd"] = " ".join(shlex.quote(c) for c in cmd)
    return m


def run_duckdb(args, csv, out, logs):
    cmd = [sys.executable, str(BENCH / "duckdb_job.py"), str(csv), str(out),
           "--threads", str(args.threads), "--plan", args.duckdb_plan]
    m = measure(cmd, logs.with_suffix(".out"), logs.with_suffix(".err"))
    m["cmd"] = " ".join(shlex.quote(c) for c in cmd)
    try:
        info = json.loads(Path(logs.with_suffix(".out")).read_text().strip().splitlines()[-1])
        m["engine"] = info["engine_seconds"]
        m["steps"] = info["steps"]
    except (OSError, IndexError, ValueError, KeyError):
        pass
    return m


def tail(path, n=3):
    try:
        return " | ".join(Path(path).read_text(errors="replace").strip().splitlines()[-n:])
    except OSError:
        return ""


def wait_calm(limit, max_wait=180):
    """Wait (up to max_wait seconds) until the 1-minute load average is below limit."""
    t = time.monotonic()
    while limit and os.getloadavg()[0] > limit and time.monotonic() - t < max_wait:
        time.sleep(5)


def one_run(args, tool, csv, rows, rnd, size_dir):
    wait_calm(args.calm)
    out = size_dir / f"{tool}-{rnd}"
    shutil.rmtree(out, ignore_errors=True)
    logs = size_dir / f"{tool}-{rnd}.log"
    log(f"  round {rnd} {tool} ...")
    m = (run_focus if tool == "focus-ingest" else run_duckdb)(args, csv, out, logs)
    m["round"] = rnd
    if m["rc"] != 0:
        m["status"] = f"failed: exit {m['rc']}: {tail(logs.with_suffix('.err'))}"
    else:
        try:
            m.update(count_output(out))
            m["status"] = "ok" if m["costs_raw"] == rows else \
                f"failed: costs_raw has {m['costs_raw']:,} rows, expected {rows:,}"
        except Exception as e:
            m["status"] = f"failed: reading the output: {e}".splitlines()[0]
    rss = m["rss_kb"] / 1024 if m["rss_kb"] else None
    log(f"    {m['status']}  wall {m['wall']:.2f}s  rss {fmt(rss, 0)} MB  cpu {fmt(m['cpu'])}s  "
        f"load {m['load1']}")
    return m, out


def bench_size(args, gen, rows, rounds):
    csv, digest = input_file(gen, rows, args.seed)
    size_dir = WORK / "runs" / str(rows)
    shutil.rmtree(size_dir, ignore_errors=True)
    size_dir.mkdir(parents=True)
    warm(csv)
    runs = {"focus-ingest": [], "duckdb": []}
    first = {}
    compare = None
    for rnd in range(1, rounds + 1):
        order = ["focus-ingest", "duckdb"] if rnd % 2 else ["duckdb", "focus-ingest"]
        for tool in order:
            m, out = one_run(args, tool, csv, rows, rnd, size_dir)
            runs[tool].append(m)
            if rnd == 1 and m["status"] == "ok":
                first[tool] = out
            elif not args.keep:
                shutil.rmtree(out, ignore_errors=True)
        if rnd == 1:
            if len(first) == 2:
                log("  comparing the two outputs")
                compare = compare_outputs(first["focus-ingest"], first["duckdb"])
            if not args.keep:
                for out in first.values():
                    shutil.rmtree(out, ignore_errors=True)
    return {
        "rows": rows, "rounds": rounds, "seed": args.seed, "input": csv.name,
        "bytes": csv.stat().st_size, "sha256": digest, "runs": runs, "compare": compare,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": args.command, "focus_commit": args.focus_commit,
        "focus_version": args.focus_version, "focus_bin": Path(args.bin).name,
        "duckdb_plan": args.duckdb_plan, "threads": args.threads, "nice": args.nice,
    }


# ---------------------------------------------------------------- Flight (issue #3)

TARGET_PUT_RATIO = 1.15  # DoPut wall / embedded CLI wall
TARGET_GET_RATIO = 1.0   # DoGet wall / DuckDB read into Arrow
FLIGHT_CLIENT = BENCH / "flight_client.py"


class Server:
    """`focus-ingest serve` on 127.0.0.1:<free port> over a fresh output directory."""

    def __init__(self, binary, lake, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--output", str(lake), "--shutdown-timeout", "5s"],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=set_priority)
        self.addr = None
        deadline = time.monotonic() + 30
        while self.addr is None and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
            m = re.search(r"msg=listening addr=(\S+)", Path(log_path).read_text(errors="replace"))
            self.addr = m and m.group(1)
        if self.addr is None:
            self.stop()
            raise RuntimeError(f"focus-ingest serve did not start: {tail(log_path)}")
        ready = [sys.executable, str(FLIGHT_CLIENT), "ready", self.addr]
        subprocess.run(ready, check=True, timeout=60, capture_output=True)

    def cpu(self):
        """User+sys CPU seconds of the server so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_kb(self):
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def client_run(srv, name, args_, logs):
    """Run one flight_client.py command as a process, with the server's CPU spent meanwhile."""
    cpu0 = srv.cpu() if srv else None
    m = measure([sys.executable, str(FLIGHT_CLIENT), name] + args_, logs.with_suffix(".out"),
                logs.with_suffix(".err"))
    if srv:
        m["server_cpu"] = srv.cpu() - cpu0
        m["server_rss_kb"] = srv.peak_rss_kb()
    try:
        m["result"] = json.loads(Path(logs.with_suffix(".out")).read_text().strip().splitlines()[-1])
        m["inner"] = m["result"]["seconds"]
    except (OSError, IndexError, ValueError, KeyError):
        m["result"] = None
    return m


def month_range(partitions):
    """[first day, day after the last) of the partition dates a summary lists."""
    days = sorted(dt.date.fromisoformat(p) for p in partitions)
    return days[0].isoformat(), (days[-1] + dt.timedelta(days=1)).isoformat()


def flight_round(args, csv, rows, rnd, d, runs):
    lake = d / f"lake-{rnd}"
    shutil.rmtree(lake, ignore_errors=True)
    srv = Server(args.bin, lake, d / f"serve-{rnd}.log")
    try:
        span = None
        for tool in (["put", "cli"] if rnd % 2 else ["cli", "put"]):
            wait_calm(args.calm)
            log(f"  round {rnd} {tool} ...")
            if tool == "cli":
                m, out = one_run(args, "focus-ingest", csv, rows, rnd, d)
                shutil.rmtree(out, ignore_errors=True)
            else:
                m = client_run(srv, "put", [srv.addr, str(csv), csv.name], d / f"put-{rnd}.log")
                summary = (m["result"] or {}).get("summary") or {}
                got = (m["result"] or {}).get("rows")
                m["status"] = "ok" if summary.get("status") == "committed" and got == rows else \
                    f"failed: exit {m['rc']}, costs_raw {got}, {summary.get('error') or tail(d / f'put-{rnd}.err')}"
                if m["status"] == "ok":
                    span = month_range(summary["partitions"])
            m["round"] = rnd
            runs[tool].append(m)
            log(f"    {m['status']}  wall {m.get('inner', m['wall']):.2f}s  cpu {fmt(m.get('server_cpu', m['cpu']))}s")
        for tool in (["get", "duckdb_read"] if rnd % 2 else ["duckdb_read", "get"]):
            wait_calm(args.calm)
            log(f"  round {rnd} {tool} ...")
            if span is None:
                m = {"status": "failed: no DoPut output to read", "wall": 0, "load1": os.getloadavg()[0]}
            elif tool == "get":
                m = client_run(srv, "get", [srv.addr, *span], d / f"get-{rnd}.log")
            else:
                m = client_run(None, "duckdb-read", [str(lake), "--threads", str(args.threads)],
                               d / f"read-{rnd}.log")
            if span is not None:
                got = (m["result"] or {}).get("rows")
                m["status"] = "ok" if m["rc"] == 0 and got == rows else \
                    f"failed: exit {m['rc']}, rows {got}: {tail(d / f'{tool}-{rnd}.err')}"
            m["round"] = rnd
            runs[tool].append(m)
            log(f"    {m['status']}  wall {m.get('inner', m['wall']):.2f}s")
        if span is not None:
            wait_calm(args.calm)
            log(f"  round {rnd} floor ...")
            m = floor_get(lake, span, rows, d / f"floor-{rnd}")
            m["round"] = rnd
            runs["floor"].append(m)
            log(f"    {m['status']}  wall {m.get('inner', m['wall']):.2f}s")
    finally:
        srv.stop()
        if not args.keep:
            shutil.rmtree(lake, ignore_errors=True)


def floor_get(lake, span, rows, logs):
    """The same DoGet as `get`, served by `flight_client.py floor-serve`: the transport floor."""
    with open(logs.with_suffix(".serve.log"), "w") as out:
        proc = subprocess.Popen([sys.executable, str(FLIGHT_CLIENT), "floor-serve", str(lake)],
                                stdout=subprocess.PIPE, stderr=out, text=True, preexec_fn=set_priority)
        try:
            line = proc.stdout.readline().split()
            if line[:1] != ["ready"]:
                return {"status": f"failed: floor server did not start: {tail(logs.with_suffix('.serve.log'))}",
                        "wall": 0, "load1": os.getloadavg()[0]}
            m = client_run(None, "get", [f"127.0.0.1:{line[1]}", *span], logs)
        finally:
            proc.kill()
            proc.wait()
    got = (m["result"] or {}).get("rows")
    m["status"] = "ok" if m["rc"] == 0 and got == rows else \
        f"failed: exit {m['rc']}, rows {got}: {tail(logs.with_suffix('.err'))}"
    return m


def bench_flight(args, gen, rows, rounds):
    csv, digest = input_file(gen, rows, args.seed)
    d = WORK / "runs" / f"flight-{rows}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    warm(csv)
    runs = {"put": [], "cli": [], "get": [], "duckdb_read": [], "floor": []}
    for rnd in range(1, rounds + 1):
        flight_round(args, csv, rows, rnd, d, runs)
    return {
        "rows": rows, "rounds": rounds, "input": csv.name, "bytes": csv.stat().st_size, "sha256": digest,
        "runs": runs, "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": args.command, "focus_commit": args.focus_commit, "focus_bin": Path(args.bin).name,
        "threads": args.threads,
    }


def flight_stats(runs, key="inner"):
    ok = [r for r in runs if r.get("status") == "ok"]
    pick = lambda k: median([r[k] for r in ok if r.get(k) is not None])
    rss = pick("server_rss_kb") or pick("rss_kb")
    return {"ok": len(ok), "failed": len(runs) - len(ok), "wall": pick(key), "cpu": pick("cpu"),
            "server_cpu": pick("server_cpu"), "rss": rss / 1024 if rss else None}


def render_flight(store):
    L = ["", "## Flight (issue #3)", "",
         "Per round: a fresh `focus-ingest serve` on 127.0.0.1 (file output); (a) DoPut of the input "
         "from stock pyarrow.flight as 1 MiB `chunk`s, timed in the client from the DoPut call to the "
         "final summary, against the embedded CLI on the same file (process wall time); (b) the whole "
         "month read back: GetFlightInfo, then DoGet of every endpoint (one per day, 4 at once) into "
         "one pyarrow Table, against DuckDB (threads as below) reading the same Parquet files into "
         "Arrow (`duckdb.sql(\"select * from read_parquet('…/costs_raw/**/*.parquet', "
         "hive_partitioning=true)\").arrow()`), both timed inside their processes (start-up and "
         "imports excluded). The pairs alternate (ABBA). The server runs without the CLI's "
         "448 MiB soft memory limit and GOGC=200.", "",
         "*Transport floor*: after each pair, the same DoGet from pyarrow's own C++ Flight server "
         "(`flight_client.py floor-serve`) holding the month in memory, already decoded and cut into "
         "batches of at most 4 MiB. It decodes nothing per request: its time is what the wire and "
         "the client cost alone, a floor for any server that must also decode the Parquet files "
         "(unless its gRPC transport is cheaper than pyarrow's C++ one). DuckDB's read does the "
         "decoding alone, without the wire.", "",
         f"Targets: DoPut wall ≤ {TARGET_PUT_RATIO}× the CLI's; DoGet wall ≤ {TARGET_GET_RATIO}× "
         "DuckDB's read (not slower).", "",
         "| rows | DoPut s | CLI s | DoPut/CLI | target ≤ 1.15 | server CPU s (DoPut) | CLI CPU s "
         "| server peak RSS MB | DoGet s | DuckDB read s | DoGet/DuckDB | target ≤ 1.0 "
         "| server CPU s (DoGet) | floor s | floor/DuckDB | failed | load (median) |",
         "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|"]
    entries = sorted(store["flight"].values(), key=lambda e: e["rows"])
    for e in entries:
        r = e["runs"]
        put, cli = flight_stats(r["put"]), flight_stats(r["cli"], "wall")
        get, rd = flight_stats(r["get"]), flight_stats(r["duckdb_read"])
        fl = flight_stats(r.get("floor", []))
        pr = put["wall"] / cli["wall"] if put["wall"] and cli["wall"] else None
        gr = get["wall"] / rd["wall"] if get["wall"] and rd["wall"] else None
        fr = fl["wall"] / rd["wall"] if fl["wall"] and rd["wall"] else None
        failed = sum(s["failed"] for s in (put, cli, get, rd, fl))
        load = median([m["load1"] for t in r.values() for m in t])
        L.append(f"| {e['rows']:,} | {fmt(put['wall'])} | {fmt(cli['wall'])} | {fmt(pr)} | "
                 f"{mark(pr <= TARGET_PUT_RATIO) if pr else 'n/a'} | {fmt(put['server_cpu'])} | "
                 f"{fmt(cli['cpu'])} | {fmt(put['rss'], 0)} | {fmt(get['wall'])} | {fmt(rd['wall'])} | "
                 f"{fmt(gr)} | {mark(gr <= TARGET_GET_RATIO) if gr else 'n/a'} | {fmt(get['server_cpu'])} | "
                 f"{fmt(fl['wall'])} | {fmt(fr)} | {failed} | {fmt(load, 1)} |")
    for e in entries:
        L += ["", f"### Flight, {e['rows']:,} rows", "",
              f"- date {e['date']}; command `{e['command']}`; tree at commit `{e['focus_commit']}`, "
              f"binary `{e['focus_bin']}`; input `{e['input']}`; DuckDB threads {e['threads']}", "",
              "| round | what | status | wall s | process CPU s | server CPU s | load before |",
              "|---:|---|---|---:|---:|---:|---:|"]
        names = {"put": "DoPut (client)", "cli": "CLI ingest", "get": "DoGet (client)",
                 "duckdb_read": "DuckDB read", "floor": "DoGet from the floor server"}
        for tool, name in names.items():
            for m in e["runs"].get(tool, []):
                L.append(f"| {m['round']} | {name} | {m['status']} | {fmt(m.get('inner', m.get('wall')))} | "
                         f"{fmt(m.get('cpu'))} | {fmt(m.get('server_cpu'))} | {m.get('load1')} |")
    return L


# ---------------------------------------------------------------- checks

def check_inputs(args, gen):
    """Check the generator and the DuckDB side: determinism, types, digits, the job itself."""
    import duckdb
    sys.path.insert(0, str(BENCH))
    import duckdb_job
    rows = 20000
    ok = True
    a, b = WORK / "check-a.csv", WORK / "check-b.csv"
    for p in (a, b):
        sh([str(gen), "-rows", str(rows), "-seed", str(args.seed), "-out", str(p)])
    c = WORK / "check-c.csv"
    sh([str(gen), "-rows", str(rows), "-seed", str(args.seed + 1), "-out", str(c)])
    same, other = sha256_file(a) == sha256_file(b), sha256_file(a) != sha256_file(c)
    log(f"determinism: same seed same sha256: {same}; other seed differs: {other}")
    ok &= same and other

    import csv as csvmod
    with open(a, newline="", encoding="utf-8") as f:
        reader = csvmod.reader(f)
        header = next(reader)
        texts = list(reader)
    money = [i for i, h in enumerate(header) if h in duckdb_job.MONEY | duckdb_job.QUANTITY]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    got = con.execute(f"SELECT * FROM {duckdb_job.read_csv_sql(str(a), header)}").fetchall()
    log(f"typed read: {len(got)} of {rows} rows, {len(header)} columns")
    ok &= len(got) == rows and len(header) == 57

    def norm(s):
        if s in ("", "NULL", "null"):
            return None
        neg = s.startswith("-")
        s = s.lstrip("-")
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        s = s.lstrip("0") or "0"
        return ("-" if neg and s != "0" else "") + s

    bad = 0
    digits = set()
    for trow, grow in zip(texts, got):
        for i in money:
            want = norm(trow[i])
            have = None if grow[i] is None else norm(format(grow[i], "f"))
            if want != have:
                bad += 1
                if bad <= 5:
                    log(f"  digits differ in {header[i]}: {trow[i]!r} read as {grow[i]!r}")
            if trow[i] and "." in trow[i] and header[i] in duckdb_job.MONEY:
                digits.add(len(trow[i].split(".")[1]))
    log(f"decimal values compared: {len(texts) * len(money):,}, differing: {bad}; "
        f"money fractional digits seen: {min(digits)}-{max(digits)}")
    ok &= bad == 0
    neg = con.execute(f"SELECT count(*) FILTER (BilledCost < 0), count(*) FILTER (BilledCost = 0), "
                      f"max(PricingQuantity), count(*) FILTER (Tags IS NULL), "
                      f"count(DISTINCT CAST(ChargePeriodStart AS DATE)) "
                      f"FROM {duckdb_job.read_csv_sql(str(a), header)}").fetchone()
    log(f"negative BilledCost {neg[0]}, zero {neg[1]}, max PricingQuantity {neg[2]}, "
        f"null Tags {neg[3]}, days {neg[4]}")
    ok &= neg[0] > 0 and neg[1] > 0 and neg[4] == 31
    con.close()

    out = WORK / "check-duckdb"
    shutil.rmtree(out, ignore_errors=True)
    m, _ = one_run(args, "duckdb", a, rows, 0, WORK)
    log(f"duckdb job: {m['status']}, costs_raw {m.get('costs_raw')}, tags_index {m.get('tags_index')}, "
        f"partitions {m.get('costs_raw_partitions')}")
    ok &= m["status"] == "ok" and m.get("costs_raw_partitions") == 31
    types = describe(connect(), WORK / "duckdb-0", "costs_raw")
    log(f"costs_raw types: BilledCost {types.get('BilledCost')}, PricingQuantity "
        f"{types.get('PricingQuantity')}, ChargePeriodStart {types.get('ChargePeriodStart')}, "
        f"Tags {types.get('Tags')}")
    ok &= types.get("BilledCost") == "DECIMAL(38,32)" and types.get("Tags") == "MAP(VARCHAR, VARCHAR)"
    shutil.rmtree(WORK / "duckdb-0", ignore_errors=True)
    for p in (a, b, c):
        p.unlink()
    log("check " + ("passed" if ok else "FAILED"))
    return ok


# ---------------------------------------------------------------- reporting

def machine(args):
    cpu = "unknown"
    mem = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    osname = platform.platform()
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip().strip('"') + f" (kernel {platform.release()})"
    except OSError:
        pass
    import duckdb
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "os": osname,
        "go": try_sh(["go", "version"]), "duckdb": duckdb.__version__,
        "python": platform.python_version(),
        "duckdb_python_rss_mb": round((args.duckdb_baseline or 0) / 1024),
    }


def summarize(runs):
    ok = [r for r in runs if r["status"] == "ok"]
    s = {"ok": len(ok), "failed": len(runs) - len(ok)}
    for key in ("wall", "cpu", "engine"):
        xs = [r[key] for r in ok if r.get(key) is not None]
        s[key] = (median(xs), min(xs), max(xs)) if xs else (None, None, None)
    xs = [r["rss_kb"] / 1024 for r in ok if r.get("rss_kb")]
    s["rss"] = (median(xs), min(xs), max(xs)) if xs else (None, None, None)
    tags = sorted({r.get("tags_index") for r in ok})
    s["tags_index"] = tags
    return s


def mark(ok):
    return "met" if ok else "**not met**"


def render(store, mach):
    sizes = sorted(store["sizes"].values(), key=lambda e: e["rows"])
    L = ["# Benchmark: focus-ingest vs DuckDB", "",
         f"Generated by `bench/run.py` (raw data: `{store.get('results_path', 'bench/results.json')}`). "
         "Do not edit by hand.", "",
         "Both tools do the same job on the same generated FOCUS 1.2 CSV (`bench/gen`): every column "
         "into `costs_raw` (money `DECIMAL(38,32)`, quantities `DECIMAL(38,18)`, period columns "
         "timestamps in UTC, `Tags` a `MAP(VARCHAR, VARCHAR)`), plus `tags_index` (distinct "
         "`resource_id, tag_key, tag_value, date`), both Parquet (snappy), Hive-partitioned by "
         "`year=/month=/day=` of `ChargePeriodStart`. Each run is its own process, measured from "
         "outside (wall clock; peak RSS and user+sys CPU from `/usr/bin/time`); the tools alternate "
         "(ABBA), each run into a fresh directory, the input in the page cache.", "",
         "To rerun (from the repository root; builds the binary, generates the inputs once into "
         "`bench/work/`, rewrites this file and `bench/results.json`):", "",
         "```",
         "go build -o bin/focus-ingest ./cmd/focus-ingest",
         ".venv/bin/python bench/run.py --sizes 100000:3,1000000:3 --fresh --flight",
         "```", "",
         "Add `5000000:3` to `--sizes` for the RSS flatness target at 5M rows (about 4 GB of input, "
         "~10 min per round pair); `--flight-only` reruns only the Flight section.", "",
         "## Machine", "",
         f"- {mach['nproc']} CPUs: {mach['cpu']}; memory {mach['memory']}",
         f"- {mach['os']}",
         f"- {mach['go']}; DuckDB {mach['duckdb']} (Python {mach['python']})",
         f"- DuckDB runs inside a Python process: Python + `import duckdb` alone peaks at "
         f"~{mach['duckdb_python_rss_mb']} MB RSS, included in DuckDB's figures.",
         "- The machine is shared with other engineers' builds: the 1-minute load average before "
         "each run is recorded below; compare medians and ratios, not single runs.", "",
         "## Targets", "",
         f"- wall time ≤ {TARGET_WALL_RATIO}× DuckDB's (on 2 cores)",
         f"- peak RSS ≤ {TARGET_RSS_MB} MB",
         f"- peak RSS flat from 100k to 5M rows (here: largest/smallest ≤ {FLAT_RSS_RATIO})", ""]
    L += ["## Summary", "",
          "| rows | input | focus-ingest wall (median) | DuckDB wall (median) | wall ratio | target ≤ 0.5 "
          "| CPU ratio | focus-ingest RSS MB (max) | DuckDB RSS MB | RSS ratio | RSS ≤ 512 MB | failed runs "
          "| load before runs (median), nice |",
          "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|---|"]
    for e in sizes:
        f, d = summarize(e["runs"]["focus-ingest"]), summarize(e["runs"]["duckdb"])
        wr = f["wall"][0] / d["wall"][0] if f["wall"][0] and d["wall"][0] else None
        rr = f["rss"][0] / d["rss"][0] if f["rss"][0] and d["rss"][0] else None
        cr = f["cpu"][0] / d["cpu"][0] if f["cpu"][0] and d["cpu"][0] else None
        L.append(f"| {e['rows']:,} | {e['bytes'] / 1e6:,.0f} MB | {fmt(f['wall'][0])} s | "
                 f"{fmt(d['wall'][0])} s | {fmt(wr)} | "
                 f"{mark(wr is not None and wr <= TARGET_WALL_RATIO) if wr else 'n/a'} | {fmt(cr)} | "
                 f"{fmt(f['rss'][0], 0)} ({fmt(f['rss'][2], 0)}) | {fmt(d['rss'][0], 0)} | {fmt(rr)} | "
                 f"{mark(f['rss'][1] is not None and f['rss'][2] <= TARGET_RSS_MB) if f['rss'][0] else 'n/a'} | "
                 f"focus-ingest {f['failed']}, DuckDB {d['failed']} | "
                 f"{fmt(median([r['load1'] for t in e['runs'].values() for r in t]), 1)}, {e.get('nice', 0)} |")
    ok_sizes = [e for e in sizes if summarize(e["runs"]["focus-ingest"])["rss"][0]]
    if len(ok_sizes) >= 2:
        lo, hi = ok_sizes[0], ok_sizes[-1]
        rlo = summarize(lo["runs"]["focus-ingest"])["rss"][0]
        rhi = summarize(hi["runs"]["focus-ingest"])["rss"][0]
        series = ", ".join(f"{e['rows']:,}: {fmt(summarize(e['runs']['focus-ingest'])['rss'][0], 0)} MB"
                           for e in ok_sizes)
        commits = {e.get("focus_bin") for e in ok_sizes}
        L += ["", f"RSS flatness (focus-ingest median peak RSS): {series}; "
              f"{hi['rows']:,}/{lo['rows']:,} = {rhi / rlo:.2f} → "
              f"{mark(rhi / rlo <= FLAT_RSS_RATIO)}."
              + ("" if len(commits) == 1 else f" (Sizes measured with different binaries: {sorted(map(str, commits))}.)")]
    notes = BENCH / "RESULTS-notes.md"
    if notes.exists():
        L += ["", "## Notes and profile (hand-written, `bench/RESULTS-notes.md`)", "",
              notes.read_text().strip()]
    for e in sizes:
        L += render_size(e)
    if store.get("flight"):
        L += render_flight(store)
    return "\n".join(L) + "\n"


def render_size(e):
    f, d = summarize(e["runs"]["focus-ingest"]), summarize(e["runs"]["duckdb"])
    L = ["", f"## {e['rows']:,} rows", "",
         f"- date {e['date']}; command `{e['command']}`",
         f"- focus-ingest: `{e.get('focus_version', '?')}`, tree at commit `{e['focus_commit']}` "
         f"(`-dirty`: uncommitted changes outside bench/ when measured), binary `{e.get('focus_bin', '?')}`",
         f"- input `{e['input']}`: {e['rows']:,} rows, {e['bytes']:,} bytes "
         f"({e['bytes'] / e['rows']:.0f} B/row), seed {e['seed']}, sha256 `{e['sha256'][:16]}…`",
         f"- {e['rounds']} rounds; DuckDB plan `{e['duckdb_plan']}` "
         f"({'CSV scanned once into a temp table, then two COPYs' if e['duckdb_plan'] == 'temp' else 'two COPYs each scanning the CSV'}), "
         f"threads {e['threads']}, memory_limit default; measured processes at nice {e.get('nice', 0)}", "",
         "| | wall s median (min–max) | peak RSS MB median (min–max) | CPU s median | ok/failed |",
         "|---|---|---|---|---|"]
    for name, s in (("focus-ingest", f), ("DuckDB", d)):
        L.append(f"| {name} | {fmt(s['wall'][0])} ({fmt(s['wall'][1])}–{fmt(s['wall'][2])}) | "
                 f"{fmt(s['rss'][0], 0)} ({fmt(s['rss'][1], 0)}–{fmt(s['rss'][2], 0)}) | "
                 f"{fmt(s['cpu'][0])} | {s['ok']}/{s['failed']} |")
    if d["engine"][0]:
        wr = f["wall"][0] / d["engine"][0] if f["wall"][0] else None
        steps = {}
        for r in e["runs"]["duckdb"]:
            if r["status"] == "ok":
                for k, v in r.get("steps", {}).items():
                    steps.setdefault(k, []).append(v)
        L += ["", f"DuckDB engine time alone (inside its process, without Python start-up and "
              f"`import duckdb`): median {fmt(d['engine'][0])} s ("
              + ", ".join(f"{k} {fmt(median(v))} s" for k, v in steps.items())
              + f"); focus-ingest wall / that = {fmt(wr)}."]
    if f["wall"][0] and d["wall"][0]:
        L += [f"Ratios focus-ingest / DuckDB (medians): wall {f['wall'][0] / d['wall'][0]:.2f}, "
              f"peak RSS {f['rss'][0] / d['rss'][0]:.2f}, CPU {fmt(f['cpu'][0] / d['cpu'][0])}."]
    tf, td = f["tags_index"], d["tags_index"]
    L += ["", f"Rows: costs_raw {e['rows']:,} expected in every run (checked); tags_index "
          f"focus-ingest {', '.join(f'{x:,}' for x in tf) or 'n/a'}, DuckDB "
          f"{', '.join(f'{x:,}' for x in td) or 'n/a'}"
          + (" (same)." if tf and tf == td else " (**differ**)." if tf and td else ".")]
    c = e.get("compare")
    if c:
        diffs = [("types differ", c["type_diffs"]), ("content differs", c["content_diffs"]),
                 ("only in focus-ingest", c["only_focus"]), ("only in DuckDB", c["only_duckdb"])]
        found = [f"{k}: {', '.join(v)}" for k, v in diffs if v]
        L += ["", "Output comparison (round 1, every column's type and an order-independent hash "
              "of its values; tags_index as sets): "
              + ("; ".join(found) if found else "identical types and values")
              + f"; tags_index rows only in focus-ingest {c['tags_only_focus']}, only in DuckDB "
              f"{c['tags_only_duckdb']}."]
    else:
        L += ["", "Output comparison: not done (a round-1 run failed)."]
    L += ["", "| round | tool | status | wall s | peak RSS MB | CPU s | load before |",
          "|---:|---|---|---:|---:|---:|---:|"]
    for tool in ("focus-ingest", "duckdb"):
        for r in e["runs"][tool]:
            rss = r["rss_kb"] / 1024 if r.get("rss_kb") else None
            L.append(f"| {r['round']} | {tool} | {r['status']} | {r['wall']:.2f} | {fmt(rss, 0)} | "
                     f"{fmt(r.get('cpu'))} | {r['load1']} |")
    return L


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000000", help="rows[:rounds],... (default 1000000)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per size (default 5)")
    ap.add_argument("--bin", default=str(ROOT / "bin" / "focus-ingest"), help="focus-ingest binary")
    ap.add_argument("--focus-args", default="--input {input} --output {output} --compression snappy --json",
                    help="focus-ingest arguments; {input} and {output} are replaced")
    ap.add_argument("--out", default=str(BENCH / "RESULTS.md"), help="results file")
    ap.add_argument("--results", default=str(BENCH / "results.json"), help="raw results, merged by size")
    ap.add_argument("--fresh", action="store_true", help="forget earlier sizes in --results")
    ap.add_argument("--quick", action="store_true", help="100,000 rows, 2 rounds, results in bench/work/")
    ap.add_argument("--check", action="store_true", help="check the generator and the DuckDB side, then exit")
    ap.add_argument("--render", action="store_true", help="only rewrite --out from --results")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="DuckDB threads (default: all cores)")
    ap.add_argument("--duckdb-plan", choices=["temp", "direct"], default="temp")
    ap.add_argument("--keep", action="store_true", help="keep every output directory")
    ap.add_argument("--nice", type=int, default=int(os.environ.get("BENCH_NICE", "0")),
                    help="niceness of the measured processes, e.g. -20 (root) to shield them from "
                         "other work on a shared machine (default $BENCH_NICE or 0)")
    ap.add_argument("--flight", action="store_true",
                    help="also measure the Flight server: DoPut vs the CLI, DoGet vs DuckDB (issue #3)")
    ap.add_argument("--flight-only", action="store_true", help="only the Flight measurements")
    ap.add_argument("--calm", type=float, default=0,
                    help="before each run wait (up to 3 min) for the 1-min load average to drop below this")
    args = ap.parse_args()
    args.command = " ".join(["bench/run.py"] + [shlex.quote(a) for a in sys.argv[1:]])
    if args.nice:
        args.command = f"BENCH_NICE={args.nice} " + args.command if "--nice" not in sys.argv else args.command
        global NICE
        NICE = args.nice
    if args.quick:
        args.sizes, args.out, args.results = "100000:2", str(WORK / "RESULTS-quick.md"), str(WORK / "results-quick.json")

    if args.render:
        store = json.loads(Path(args.results).read_text())
        Path(args.out).write_text(render(store, store["machine"]))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    gen = build_gen()
    if args.check:
        sys.exit(0 if check_inputs(args, gen) else 1)
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"run.py: {args.bin} is missing or not executable; run `make build` first")
    args.focus_commit = try_sh(["git", "rev-parse", "--short", "HEAD"]) + \
        ("-dirty" if try_sh(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                             ":!bench"], "") else "")
    args.bin = snapshot_bin(args.bin)
    args.focus_version = try_sh([args.bin, "--version"])
    args.duckdb_baseline = duckdb_python_rss()

    store_path = Path(args.results)
    store = {"sizes": {}}
    if store_path.exists() and not args.fresh:
        store = json.loads(store_path.read_text())
    try:
        store["results_path"] = str(store_path.resolve().relative_to(ROOT))
    except ValueError:
        store["results_path"] = str(store_path)
    for rows, rounds in parse_sizes(args.sizes, args.rounds):
        log(f"size {rows:,}: {rounds} rounds")
        if not args.flight_only:
            store["sizes"][str(rows)] = bench_size(args, gen, rows, rounds)
        if args.flight or args.flight_only:
            log(f"size {rows:,}: {rounds} Flight rounds")
            store.setdefault("flight", {})[str(rows)] = bench_flight(args, gen, rows, rounds)
        store["machine"] = machine(args)
        store_path.write_text(json.dumps(store, indent=1, default=str) + "\n")
        Path(args.out).write_text(render(store, store["machine"]))
        log(f"wrote {args.out}")
    failed = sum(r["status"] != "ok" for e in [*store["sizes"].values(), *store.get("flight", {}).values()]
                 for runs in e["runs"].values() for r in runs)
    print(Path(args.out).read_text())
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
