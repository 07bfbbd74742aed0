"""Independent expectations and readers for the focus-ingest end-to-end tests.

Nothing here imports or reuses the Go code: expectations are computed from the source CSV text with
Python's csv, decimal and json modules, following docs/DESIGN.md (shared) rules, and the Parquet output
is read back with pyarrow and DuckDB only.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gzip
import io
import json
import os
import re
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

# --------------------------------------------------------------------------------------------------
# The FOCUS column catalog, restated from DESIGN.md (not imported from the Go code).

MONEY = {
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice",
    "ContractedUnitPrice", "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice",
    "PricingCurrencyContractedUnitPrice", "ContractCommitmentCost",
}
QUANTITY = {
    "PricingQuantity", "ConsumedQuantity", "CommitmentDiscountQuantity", "ContractCommitmentQuantity",
}
TIMESTAMP = {
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ContractPeriodStart", "ContractPeriodEnd", "ContractCommitmentPeriodStart",
    "ContractCommitmentPeriodEnd",
}
TAGS = {"Tags", "AllocatedTags"}
NULL_TOKENS = {"", "NULL", "null"}
QUANTITY_SCALE = 18
PRECISION = 38
PARTITION_COLS = ("year", "month", "day")

_CANON = {n.lower(): n for n in MONEY | QUANTITY | TIMESTAMP | TAGS | {"ResourceId"}}

# Exact number grammar: optional '-', digits, optional '.' digits, optional exponent.
NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z")
# Accepted timestamps (DESIGN.md): date, 'T' or ' ', hh:mm[:ss[.fraction]], optional Z or ±hh:mm.
TS_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(?:(Z)|([+-])(\d{2}):(\d{2}))?\Z"
)
_CTX = Context(prec=2000, rounding=ROUND_HALF_EVEN)
csv.field_size_limit(2**31 - 1)  # exports may carry long fields (big Tags objects)
UTC = dt.timezone.utc


class Invalid(ValueError):
    """The source text is not valid per DESIGN.md: the binary must refuse it."""


def canonical(name: str) -> str:
    name = name.strip()
    return _CANON.get(name.lower(), name)


def kind_of(name: str) -> str:
    if name in MONEY:
        return "money"
    if name in QUANTITY:
        return "quantity"
    if name in TIMESTAMP:
        return "timestamp"
    if name in TAGS:
        return "tags"
    return "string"


def exact_decimal(text: str, scale: int) -> tuple[Decimal, bool]:
    """Decimal of text at `scale` with half-even rounding; (value, rounded)."""
    if not NUMBER_RE.match(text):
        raise Invalid(f"not a number: {text!r}")
    d = Decimal(text)
    limit = Decimal(10) ** (PRECISION - scale)
    if not d.is_zero() and d.adjusted() > PRECISION + 2:
        raise Invalid(f"overflow: {text!r}")
    try:
        q = d.quantize(Decimal(1).scaleb(-scale), context=_CTX)
    except InvalidOperation as e:  # pragma: no cover - prec 2000 is plenty
        raise AssertionError(f"test bug quantizing {text!r}: {e}")
    if q.copy_abs() >= limit:
        raise Invalid(f"overflow at scale {scale}: {text!r}")
    return q, q != d


def parse_ts(text: str) -> dt.datetime:
    m = TS_RE.match(text)
    if not m:
        raise Invalid(f"timestamp: {text!r}")
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    if int(h) > 23 or int(mi) > 59 or (s is not None and int(s) > 59) or \
            (sign and (int(oh) > 23 or int(om) > 59)):
        raise Invalid(f"timestamp: {text!r}")
    us = int((frac or "").ljust(6, "0")[:6]) if frac else 0  # floor past microseconds
    if sign:
        off = dt.timedelta(hours=int(oh), minutes=int(om))
        tz = dt.timezone(-off if sign == "-" else off)
    else:
        tz = UTC  # Z or naive
    try:
        v = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), us, tzinfo=tz)
    except ValueError as e:
        raise Invalid(f"timestamp: {text!r}: {e}")
    return v.astimezone(UTC)


def _no_constant(s):
    raise Invalid(f"JSON constant {s}")


def parse_tags(text: str) -> dict:
    """Tags JSON -> {key: value-or-None}; numbers keep their JSON text, booleans as true/false."""
    try:
        obj = json.loads(text, parse_int=str, parse_float=str, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise Invalid(f"tags JSON: {e}")
    if not isinstance(obj, dict):
        raise Invalid("tags: not an object")
    out = {}
    for k, v in obj.items():
        if isinstance(v, (dict, list)):
            raise Invalid("tags: nested value")
        if v is True:
            v = "true"
        elif v is False:
            v = "false"
        out[k] = v  # str (strings and raw number text) or None
    return out


def convert_value(name: str, text: str, money_scale: int = 32):
    """(value, rounded) of one CSV field per DESIGN.md."""
    if text in NULL_TOKENS:
        return None, False
    k = kind_of(name)
    if k == "money":
        return exact_decimal(text, money_scale)
    if k == "quantity":
        return exact_decimal(text, QUANTITY_SCALE)
    if k == "timestamp":
        return parse_ts(text), False
    if k == "tags":
        return parse_tags(text), False
    return text, False


# --------------------------------------------------------------------------------------------------
# Reading the source CSV independently.

def open_text(path) -> io.TextIOBase:
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return io.StringIO(raw.decode("utf-8-sig"), newline="")


def read_records(path):
    """(header, [(start_line, fields)]); line numbers count physical lines, header = 1."""
    with open_text(path) as fh:
        reader = csv.reader(fh, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise Invalid("empty file")
        records = []
        while True:
            start = reader.line_num + 1
            try:
                rec = next(reader)
            except StopIteration:
                break
            if rec:  # a blank line is no record (as in encoding/csv, DuckDB, Python's DictReader)
                records.append((start, rec))
    return header, records


@dataclass
class Expected:
    columns: list                       # canonical header names, in header order
    rows: list = field(default_factory=list)   # dicts, plus "_line" and "_part"
    rounded: int = 0

    @property
    def partitions(self) -> Counter:
        return Counter(r["_part"] for r in self.rows)

    def tag_index(self) -> set:
        out = set()
        for r in self.rows:
            rid, tags = r.get("ResourceId"), r.get("Tags")
            if not rid or not tags:
                continue
            day = r["ChargePeriodStart"].date()
            for k, v in tags.items():
                out.add((rid, k, v, day))
        return out


def expected_from_csv(path, money_scale: int = 32, skip_lines=()) -> Expected:
    header, records = read_records(path)
    cols = [canonical(h) for h in header]
    assert len(set(cols)) == len(cols), f"test input has duplicated columns: {cols}"
    assert "ChargePeriodStart" in cols, "test input is not a cost-and-usage file"
    exp = Expected(columns=cols)
    for line, rec in records:
        if line in skip_lines:
            continue
        if len(rec) != len(cols):
            raise Invalid(f"line {line}: {len(rec)} fields, header has {len(cols)}")
        row = {"_line": line}
        for name, text in zip(cols, rec):
            v, rounded = convert_value(name, text, money_scale)
            row[name] = v
            exp.rounded += rounded
        cps = row["ChargePeriodStart"]
        if cps is None:
            raise Invalid(f"line {line}: null ChargePeriodStart")
        row["_part"] = (cps.year, cps.month, cps.day)
        exp.rows.append(row)
    return exp


def merge(*exps: Expected) -> Expected:
    cols = []
    for e in exps:
        cols += [c for c in e.columns if c not in cols]
    out = Expected(columns=cols)
    for e in exps:
        out.rows += e.rows
        out.rounded += e.rounded
    return out


# --------------------------------------------------------------------------------------------------
# Reading the output back with pyarrow and DuckDB.

def parquet_files(root) -> list:
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.join(d, f) for f in files if f.endswith(".parquet")]
    return sorted(out)


def hive_dataset(root) -> ds.Dataset | None:
    files = parquet_files(root)
    if not files:
        return None
    part_schema = pa.schema([(c, pa.int32()) for c in PARTITION_COLS])
    schema = pa.unify_schemas([pq.read_schema(f) for f in files] + [part_schema])
    return ds.dataset(str(root), format="parquet", schema=schema,
                      partitioning=ds.partitioning(part_schema, flavor="hive"))


def norm(v):
    """Comparable, hashable form of a cell: maps become sorted item tuples."""
    if isinstance(v, dict):
        return tuple(sorted(v.items(), key=lambda kv: (kv[0], kv[1] is None, kv[1] or "")))
    if isinstance(v, list):  # pyarrow map -> list of (key, value)
        d = dict(v)
        assert len(d) == len(v), f"map with duplicated keys: {v}"
        return norm(d)
    return v


def row_key(row: dict, cols) -> tuple:
    return tuple(norm(row.get(c)) for c in cols)


def diff_message(what, want: Counter, got: Counter, limit=3) -> str:
    missing = list((want - got).elements())[:limit]
    extra = list((got - want).elements())[:limit]
    return (f"{what}: {sum(want.values())} expected rows, {sum(got.values())} read; "
            f"missing (first {limit}): {missing}; unexpected (first {limit}): {extra}")


def read_costs_pyarrow(out) -> tuple[list, pa.Schema | None]:
    dset = hive_dataset(Path(out) / "costs_raw")
    if dset is None:
        return [], None
    return dset.to_table().to_pylist(), dset.schema


def read_tags_pyarrow(out) -> list:
    dset = hive_dataset(Path(out) / "tags_index")
    return [] if dset is None else dset.to_table().to_pylist()


def duck_query(sql, params=None):
    con = duckdb.connect()
    try:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def duck_glob(out, dataset) -> str:
    return str(Path(out) / dataset / "**" / "*.parquet")


def duck_count(out, dataset="costs_raw") -> int:
    if not parquet_files(Path(out) / dataset):
        return 0
    rows = duck_query(
        "SELECT count(*) AS n FROM read_parquet(?, hive_partitioning=true, union_by_name=true)",
        [duck_glob(out, dataset)])
    return rows[0]["n"]


def duck_partition_counts(out, dataset="costs_raw") -> Counter:
    if not parquet_files(Path(out) / dataset):
        return Counter()
    rows = duck_query(
        "SELECT CAST(year AS INTEGER) y, CAST(month AS INTEGER) m, CAST(day AS INTEGER) d, "
        "count(*) n FROM read_parquet(?, hive_partitioning=true, union_by_name=true) GROUP BY ALL",
        [duck_glob(out, dataset)])
    return Counter({(r["y"], r["m"], r["d"]): r["n"] for r in rows})


def _qi(name):
    return '"' + name.replace('"', '""') + '"'


def duck_rows(out, cols) -> Counter:
    """Rows as DuckDB sees them: partition, then each column (timestamps as epoch µs, maps as items)."""
    sel = ["CAST(year AS INTEGER)", "CAST(month AS INTEGER)", "CAST(day AS INTEGER)"]
    for c in cols:
        k = kind_of(c)
        if k == "timestamp":
            sel.append(f"epoch_us({_qi(c)})")
        elif k == "tags":
            sel.append(f"map_entries({_qi(c)})")
        else:
            sel.append(_qi(c))
    con = duckdb.connect()
    try:
        res = con.execute(
            f"SELECT {', '.join(sel)} FROM read_parquet(?, hive_partitioning=true, union_by_name=true)",
            [duck_glob(out, "costs_raw")]).fetchall()
    finally:
        con.close()
    got = Counter()
    for r in res:
        vals = list(r[:3])
        for c, v in zip(cols, r[3:]):
            if kind_of(c) == "tags" and v is not None:
                v = norm({e["key"]: e["value"] for e in v}) if v else ()
            vals.append(v)
        got[tuple(vals)] += 1
    return got


def epoch_us(v: dt.datetime) -> int:
    return (v - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)


# --------------------------------------------------------------------------------------------------
# The assertions every conversion test shares.

def assert_types(schema: pa.Schema, cols, money_scale=32):
    names = [n for n in schema.names if n not in PARTITION_COLS]
    assert set(names) == set(cols), f"columns differ: missing {set(cols) - set(names)}, extra {set(names) - set(cols)}"
    for c in cols:
        t = schema.field(c).type
        k = kind_of(c)
        if k == "money":
            assert t == pa.decimal128(38, money_scale), f"{c}: {t}"
        elif k == "quantity":
            assert t == pa.decimal128(38, 18), f"{c}: {t}"
        elif k == "timestamp":
            assert t == pa.timestamp("us", tz="UTC"), f"{c}: {t}"
        elif k == "tags":
            assert isinstance(t, pa.MapType) and t.key_type == pa.string() and t.item_type == pa.string(), f"{c}: {t}"
        else:
            assert t == pa.string(), f"{c}: {t}"


def assert_file_schemas(out, cols_by_file=None, money_scale=32):
    """Every costs_raw file: types per DESIGN.md, no partition columns inside the file."""
    for f in parquet_files(Path(out) / "costs_raw"):
        s = pq.read_schema(f)
        for p in PARTITION_COLS:
            assert p not in s.names, f"{f} stores partition column {p}"
        for name in s.names:
            t = s.field(name).type
            k = kind_of(name)
            if k == "money":
                assert t == pa.decimal128(38, money_scale), f"{f}: {name}: {t}"
            elif k == "quantity":
                assert t == pa.decimal128(38, 18), f"{f}: {name}: {t}"
            elif k == "timestamp":
                assert t == pa.timestamp("us", tz="UTC"), f"{f}: {name}: {t}"
            elif k == "tags":
                assert isinstance(t, pa.MapType) and t.item_type == pa.string(), f"{f}: {name}: {t}"
            else:
                assert t == pa.string(), f"{f}: {name}: {t}"


def assert_layout(out, exp: Expected):
    """Hive directories are zero-padded year=YYYY/month=MM/day=DD, one per expected day."""
    root = Path(out) / "costs_raw"
    dirs = set()
    for f in parquet_files(root):
        rel = Path(f).relative_to(root).parts
        assert len(rel) == 4, f"unexpected depth: {f}"
        assert re.fullmatch(r"year=\d{4}", rel[0]) and re.fullmatch(r"month=\d{2}", rel[1]) \
            and re.fullmatch(r"day=\d{2}", rel[2]), f"not zero-padded hive keys: {f}"
        dirs.add(tuple(int(p.split("=")[1]) for p in rel[:3]))
    assert dirs == set(exp.partitions), f"partition dirs {sorted(dirs)} != expected {sorted(exp.partitions)}"


def assert_costs(out, exp: Expected, money_scale=32):
    rows, schema = read_costs_pyarrow(out)
    if not exp.rows:
        assert rows == [], f"expected no rows, pyarrow read {len(rows)}"
        assert duck_count(out) == 0
        return
    assert schema is not None, "no costs_raw Parquet written"
    assert_types(schema, exp.columns, money_scale)
    assert_file_schemas(out, money_scale=money_scale)
    assert_layout(out, exp)
    # Per-partition counts, both readers.
    got_parts = Counter((r["year"], r["month"], r["day"]) for r in rows)
    assert got_parts == exp.partitions, f"pyarrow partition counts {dict(got_parts)} != {dict(exp.partitions)}"
    duck_parts = duck_partition_counts(out)
    assert duck_parts == exp.partitions, f"duckdb partition counts {dict(duck_parts)} != {dict(exp.partitions)}"
    # Full rows (every column), matched by content: a multiset comparison, no order assumed.
    cols = exp.columns
    want = Counter((*r["_part"], *row_key(r, cols)) for r in exp.rows)
    got = Counter((r["year"], r["month"], r["day"], *row_key(r, cols)) for r in rows)
    assert got == want, diff_message("costs_raw via pyarrow", want, got)
    # DuckDB: same rows, timestamps compared as epoch microseconds.
    def duck_form(r):
        vals = [*r["_part"]]
        for c in cols:
            v = r.get(c)
            if kind_of(c) == "timestamp" and v is not None:
                v = epoch_us(v)
            vals.append(norm(v))
        return tuple(vals)
    want_d = Counter(duck_form(r) for r in exp.rows)
    got_d = duck_rows(out, cols)
    assert got_d == want_d, diff_message("costs_raw via duckdb", want_d, got_d)


def assert_tags_index(out, exp: Expected):
    want = exp.tag_index()
    rows = read_tags_pyarrow(out)
    files = parquet_files(Path(out) / "tags_index")
    for f in files:
        s = pq.read_schema(f)
        for c, t in (("resource_id", pa.string()), ("tag_key", pa.string()),
                     ("tag_value", pa.string()), ("date", pa.date32())):
            assert c in s.names and s.field(c).type == t, f"{f}: {c}: {s}"
    got = [(r["resource_id"], r["tag_key"], r["tag_value"], r["date"]) for r in rows]
    for r in rows:
        d = r["date"]
        assert (r["year"], r["month"], r["day"]) == (d.year, d.month, d.day), f"tags_index row in wrong partition: {r}"
    assert len(got) == len(set(got)), f"tags_index has duplicates: {[k for k, n in Counter(got).items() if n > 1][:3]}"
    assert set(got) == want, (f"tags_index: missing {sorted(want - set(got), key=repr)[:3]}, "
                              f"unexpected {sorted(set(got) - want, key=repr)[:3]} "
                              f"({len(want)} expected, {len(got)} read)")
    assert duck_count(out, "tags_index") == len(want)


def assert_dataset(out, exp: Expected, money_scale=32):
    assert_costs(out, exp, money_scale)
    assert_tags_index(out, exp)


def assert_nothing_committed(out):
    found = parquet_files(out) if Path(out).exists() else []
    assert not found, f"Parquet left behind after a failed job: {found[:5]}"
    assert duck_count(out) == 0


# --------------------------------------------------------------------------------------------------
# Running the binary.

@dataclass
class Run:
    args: list
    code: int
    stdout: str
    stderr: str

    def summary(self) -> dict:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as e:
            raise AssertionError(f"--json stdout is not one JSON object ({e}): {self.stdout[:500]!r}")

    def __str__(self):
        return (f"$ {' '.join(map(str, self.args))}\nexit {self.code}\n"
                f"--- stdout\n{self.stdout[-2000:]}\n--- stderr\n{self.stderr[-3000:]}")


def child_env() -> dict:
    """The caller's environment without FOCUS_INGEST_* settings (each flag has one): hermetic runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOCUS_INGEST_")}
    env["NO_COLOR"] = "1"
    return env


def run_bin(binary, *args, timeout=300, cwd=None) -> Run:
    argv = [str(binary), *map(str, args)]
    p = subprocess.run(argv, capture_output=True, timeout=timeout, env=child_env(), cwd=cwd)
    return Run(argv, p.returncode,
               p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


def file_url(path) -> str:
    return "file://" + str(Path(path).resolve())


def assert_no_crash(run: Run):
    for marker in ("panic:", "goroutine ", "Traceback", "runtime error"):
        assert marker not in run.stderr, f"crash marker {marker!r} in stderr\n{run}"


def go_quote(s: str) -> str:
    """strconv.Quote of a valid UTF-8 string (the error's `(value "...")`)."""
    out = ['"']
    esc = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f",
           "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    for ch in s:
        if ch in esc:
            out.append(esc[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append("\\x%02x" % ord(ch))
        elif ord(ch) < 0x10000:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append("\\U%08x" % ord(ch))
    out.append('"')
    return "".join(out)


def source_alternatives(path) -> str:
    p = str(Path(path).resolve())
    return "(?:" + re.escape(p) + "|" + re.escape("file://" + p) + ")"


def assert_located(run: Run, path, line, column, name, value=None):
    """stderr has `focus-ingest: <source>:<line>:<column>: <Column>: <reason> (value "...")`.

    column None: the column part is optional (record-level errors); name None: not checked.
    """
    src = source_alternatives(path)
    col = r"(?::\d+)?" if column is None else f":{column}"
    name_re = "" if name is None else f" (?i:{re.escape(name)}):"
    pat = rf"(?m)^focus-ingest: {src}:{line}{col}:{name_re} \S"
    m = re.search(pat, run.stderr)
    assert m, f"no located error matching {pat!r}\n{run}"
    if value is not None:
        rest = run.stderr[m.start():].splitlines()[0]
        assert f"(value {go_quote(value)})" in rest, f"value {go_quote(value)} not quoted in {rest!r}"
    return run.stderr[m.start():].splitlines()[0]


# --------------------------------------------------------------------------------------------------
# The --json summary.

_DAY_RES = (re.compile(r"(\d{4})-(\d{2})-(\d{2})"),
            re.compile(r"year=(\d{4})/month=(\d{1,2})/day=(\d{1,2})"))


def summary_days(partitions) -> set:
    """The days named by the summary's "partitions" list, whatever its element shape."""
    days = set()
    for e in partitions:
        if isinstance(e, dict) and {"year", "month", "day"} <= set(e):
            days.add((int(e["year"]), int(e["month"]), int(e["day"])))
            continue
        text = e if isinstance(e, str) else json.dumps(e)
        found = [tuple(int(x) for x in m.groups()) for rx in _DAY_RES for m in rx.finditer(text)]
        assert found, f"partition entry names no day: {e!r}"
        days.update(found)
    return days


def assert_summary(s: dict, exp: Expected, rejected=0, fresh=True):
    """The --json summary against independent counts (fresh: the output held nothing before)."""
    for k in ("job_id", "status", "rows", "partitions", "rejected", "rounded"):
        assert k in s, f"summary lacks {k!r}: {s}"
    assert s["job_id"], s
    assert s["status"] == "committed", s
    assert s["rows"]["costs_raw"] == len(exp.rows), s
    if fresh:
        assert s["rows"]["tags_index"] == len(exp.tag_index()), s
    assert s["rejected"] == rejected, s
    assert s["rounded"] == exp.rounded, s
    assert isinstance(s["partitions"], list), s
    assert summary_days(s["partitions"]) == set(exp.partitions), s


def billed_sum(path: Path) -> Decimal:
    """The exact sum of a CSV's BilledCost column (empty cells skipped)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return sum((Decimal(r["BilledCost"]) for r in csv.DictReader(f) if r["BilledCost"]), Decimal(0))


@contextlib.contextmanager
def serve_binary(focus_bin, lake: Path, *args: str, scheme="grpc", ready_options=None, **connect_kwargs):
    """Runs `focus-ingest serve --listen 127.0.0.1:0 --output <lake> ARGS...`; yields (address, log
    lines) once it answers ListActions (Unavailable until its dataset is open), connecting with
    scheme, connect_kwargs and ready_options; then stops it with SIGTERM and expects a clean exit."""
    import pyarrow.flight as flight

    proc = subprocess.Popen(
        [str(focus_bin), "serve", "--listen", "127.0.0.1:0", "--output", file_url(lake),
         "--shutdown-timeout", "2s", *args],
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
        with flight.connect(f"{scheme}://{addr[0]}", **connect_kwargs) as probe:
            deadline = time.monotonic() + 20
            while True:
                try:
                    list(probe.list_actions(options=ready_options))
                    break
                except flight.FlightUnavailableError:
                    assert time.monotonic() < deadline, "server not ready:\n" + "".join(lines)
                    time.sleep(0.05)
        yield addr[0], lines
    finally:
        proc.terminate()
        assert proc.wait(10) == 0, "".join(lines)
