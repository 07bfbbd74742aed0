"""Independent reader for the fault and concurrency harness (internal/faults).

A long-running helper: one JSON request a line on stdin, one JSON answer a line on stdout, so the
Go harness pays pyarrow's and DuckDB's import once. Nothing here uses focus-ingest code.

Requests:
  {"op": "expect", "csv": [paths]}  per-day figures the CSVs give together, computed with Python's
                                   csv, decimal and json: rows, exact sum of BilledCost, and the
                                   distinct (ResourceId, tag key, tag value) of the day.
  {"op": "hive", "dir": path}      the same figures read from the Parquet under path/costs_raw and
                                   path/tags_index, as a plain Hive reader sees them (DuckDB over
                                   **/*.parquet, and pyarrow.dataset over every file of the tree).

Figures: {"YYYY-MM-DD": {"rows": n, "billed": "sum, 16 decimals", "tags": n, "tags_distinct": n}}.
A day without costs_raw rows but with tags_index rows (or the reverse) shows zeros for the other.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import os
import sys

import duckdb
import pyarrow.dataset as ds

csv.field_size_limit(1 << 30)
Q = decimal.Decimal("1e-16")
CTX = decimal.Context(prec=60, traps=[decimal.Inexact, decimal.InvalidOperation])


def money(text: str) -> str:
    """The canonical 16-decimal text of an exact decimal; fails if rounding were needed."""
    return format(decimal.Decimal(text).quantize(Q, context=CTX), "f")


def day_of(ts: str) -> str:
    t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00").replace(" ", "T"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(dt.timezone.utc).date().isoformat()


def tag_text(v) -> str | None:
    """A JSON tag value as the design keeps it: strings verbatim, numbers and booleans as text."""
    if v is None:
        return None
    if v is True:
        return "true"
    if v is False:
        return "false"
    return v  # str already (numbers parsed as their text)


NULLS = ("", "NULL", "null")


def expect(paths: list[str]) -> dict:
    days: dict[str, dict] = {}
    tags: dict[str, set] = {}
    for path in paths:
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                day = day_of(row["ChargePeriodStart"])
                d = days.setdefault(day, {"rows": 0, "billed": decimal.Decimal(0)})
                d["rows"] += 1
                if row["BilledCost"] not in NULLS:
                    d["billed"] += decimal.Decimal(money(row["BilledCost"]))
                rid, raw = row.get("ResourceId", ""), row.get("Tags", "")
                if rid in NULLS or raw in NULLS:
                    continue
                obj = json.loads(raw, parse_int=str, parse_float=str, parse_constant=str)
                s = tags.setdefault(day, set())
                for k, v in obj.items():
                    s.add((rid, k, tag_text(v)))
    out = {}
    for day in sorted(set(days) | set(tags)):
        d = days.get(day, {"rows": 0, "billed": decimal.Decimal(0)})
        n = len(tags.get(day, ()))
        out[day] = {"rows": d["rows"], "billed": money(str(d["billed"])), "tags": n, "tags_distinct": n}
    return out


def hive(root: str) -> dict:
    out: dict[str, dict] = {}

    def day(y, m, d):
        key = f"{int(y):04d}-{int(m):02d}-{int(d):02d}"
        return out.setdefault(key, {"rows": 0, "billed": money("0"), "tags": 0, "tags_distinct": 0})

    con = duckdb.connect()
    costs = os.path.join(root, "costs_raw")
    total_duck = 0
    if has_parquet(costs):
        q = f"""SELECT year, month, day, count(*), sum(CAST(BilledCost AS DECIMAL(38,16)))
                FROM read_parquet('{costs}/**/*.parquet', hive_partitioning=true, union_by_name=true)
                GROUP BY ALL"""
        for y, m, d, n, s in con.execute(q).fetchall():
            rec = day(y, m, d)
            rec["rows"], rec["billed"] = n, money(str(s if s is not None else 0))
            total_duck += n
    tags = os.path.join(root, "tags_index")
    if has_parquet(tags):
        q = f"""SELECT year, month, day, count(*)
                FROM read_parquet('{tags}/**/*.parquet', hive_partitioning=true) GROUP BY ALL"""
        for y, m, d, n in con.execute(q).fetchall():
            day(y, m, d)["tags"] = n
        q = f"""SELECT year, month, day, count(*) FROM (
                  SELECT DISTINCT year, month, day, resource_id, tag_key, tag_value, date
                  FROM read_parquet('{tags}/**/*.parquet', hive_partitioning=true)) GROUP BY ALL"""
        for y, m, d, n in con.execute(q).fetchall():
            day(y, m, d)["tags_distinct"] = n
    # pyarrow opens every file of the tree (not only *.parquet), as Spark or Polars would.
    total_pa = ds.dataset(costs, format="parquet", partitioning="hive").count_rows() if os.path.isdir(costs) else 0
    if total_pa != total_duck:
        raise AssertionError(f"pyarrow counts {total_pa} costs_raw rows, DuckDB {total_duck}")
    if os.path.isdir(tags):
        ds.dataset(tags, format="parquet", partitioning="hive").count_rows()
    return dict(sorted(out.items()))


def has_parquet(d: str) -> bool:
    for _, _, files in os.walk(d):
        if any(f.endswith(".parquet") for f in files):
            return True
    return False


def main() -> None:
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "expect":
                ans = {"days": expect(req["csv"])}
            elif req["op"] == "hive":
                ans = {"days": hive(req["dir"])}
            else:
                ans = {"error": f"unknown op {req['op']!r}"}
        except Exception as e:  # the answer carries it; the harness fails the trial
            ans = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(ans) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
