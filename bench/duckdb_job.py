"""DuckDB doing focus-ingest's job, for the benchmark (run by bench/run.py as its own process).

    python bench/duckdb_job.py CSV OUTDIR [--threads 2] [--plan temp|direct]

Reads a FOCUS CSV with the focus-ingest types (money DECIMAL(38,32), quantities
DECIMAL(38,18), *PeriodStart/End TIMESTAMPTZ in UTC, Tags MAP(VARCHAR, VARCHAR),
everything else VARCHAR; '', NULL and null are nulls; a row that does not parse
fails the job) and writes, Hive-partitioned by year=/month=/day= of ChargePeriodStart:

  OUTDIR/costs_raw/   every column, Parquet, snappy
  OUTDIR/tags_index/  distinct (resource_id, tag_key, tag_value, date), Parquet, snappy

Plans: "temp" scans the CSV once into a temporary table, then runs two COPYs
(DuckDB's fastest plan here, the default); "direct" runs two COPYs straight off
the CSV (two scans, less memory).

Prints one JSON line: seconds per step, the engine total, row counts.
"""

import argparse
import csv
import json
import os
import sys
import time

import duckdb

MONEY = {
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice",
    "ContractedUnitPrice", "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice",
    "PricingCurrencyContractedUnitPrice", "ContractCommitmentCost",
}
QUANTITY = {"PricingQuantity", "ConsumedQuantity", "CommitmentDiscountQuantity", "ContractCommitmentQuantity"}
TIMESTAMP = {
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ContractPeriodStart", "ContractPeriodEnd", "ContractCommitmentPeriodStart",
    "ContractCommitmentPeriodEnd",
}
TAGS = {"Tags", "AllocatedTags"}


def sql_type(name):
    """The DuckDB type a CSV column is read as (tags are read as text, then cast)."""
    if name in MONEY:
        return "DECIMAL(38,32)"
    if name in QUANTITY:
        return "DECIMAL(38,18)"
    if name in TIMESTAMP:
        return "TIMESTAMPTZ"
    return "VARCHAR"


def ident(name):
    return '"' + name.replace('"', '""') + '"'


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def read_csv_sql(path, header):
    cols = ", ".join(f"{lit(c)}: {lit(sql_type(c))}" for c in header)
    return (
        f"read_csv({lit(path)}, header = true, delim = ',', quote = '\"', escape = '\"', "
        f"nullstr = ['', 'NULL', 'null'], columns = {{{cols}}}, "
        f"timestampformat = '%Y-%m-%dT%H:%M:%SZ', auto_detect = false)"
    )


def select_typed(header, source):
    """Every column typed as focus-ingest types it, plus the partition keys."""
    cols = []
    for c in header:
        if c in TAGS:
            cols.append(f"CAST(CAST({ident(c)} AS JSON) AS MAP(VARCHAR, VARCHAR)) AS {ident(c)}")
        else:
            cols.append(ident(c))
    parts = ("strftime(ChargePeriodStart, '%Y') AS year, strftime(ChargePeriodStart, '%m') AS month, "
             "strftime(ChargePeriodStart, '%d') AS day")
    return f"SELECT {', '.join(cols)}, {parts} FROM {source}"


PARQUET = "FORMAT parquet, PARTITION_BY (year, month, day), COMPRESSION snappy"

TAGS_FROM_MAP = """
SELECT DISTINCT resource_id, e.key AS tag_key, e.value AS tag_value, date, year, month, day FROM (
  SELECT ResourceId AS resource_id, unnest(map_entries(Tags)) AS e,
         CAST(ChargePeriodStart AS DATE) AS date, year, month, day
  FROM {src} WHERE ResourceId IS NOT NULL AND ResourceId <> '' AND Tags IS NOT NULL)
"""

TAGS_FROM_JSON = """
SELECT DISTINCT ResourceId AS resource_id, je.key AS tag_key, je.value ->> '$' AS tag_value,
       CAST(ChargePeriodStart AS DATE) AS date,
       strftime(ChargePeriodStart, '%Y') AS year, strftime(ChargePeriodStart, '%m') AS month,
       strftime(ChargePeriodStart, '%d') AS day
FROM {src}, json_each(CAST(Tags AS JSON)) je
WHERE ResourceId IS NOT NULL AND ResourceId <> '' AND Tags IS NOT NULL
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--plan", choices=["temp", "direct"], default="temp")
    a = ap.parse_args()

    with open(a.csv, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    os.makedirs(a.out, exist_ok=True)
    costs = os.path.join(a.out, "costs_raw")
    tags = os.path.join(a.out, "tags_index")
    steps = {}
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}; SET TimeZone = 'UTC'; SET preserve_insertion_order = false")
    src = read_csv_sql(a.csv, header)

    def step(name, sql):
        t = time.perf_counter()
        res = con.execute(sql).fetchall()
        steps[name] = round(time.perf_counter() - t, 3)
        return res[0][0] if res else None

    if a.plan == "temp":
        step("load", f"CREATE TEMP TABLE t AS {select_typed(header, src)}")
        n_costs = step("costs_raw", f"COPY (SELECT * FROM t) TO {lit(costs)} ({PARQUET})")
        n_tags = step("tags_index", f"COPY ({TAGS_FROM_MAP.format(src='t')}) TO {lit(tags)} ({PARQUET})")
    else:
        n_costs = step("costs_raw", f"COPY ({select_typed(header, src)}) TO {lit(costs)} ({PARQUET})")
        sub = ("(SELECT ResourceId, ChargePeriodStart, Tags FROM " + src + ")")
        n_tags = step("tags_index", f"COPY ({TAGS_FROM_JSON.format(src=sub)}) TO {lit(tags)} ({PARQUET})")
    con.close()
    total = time.perf_counter() - t0
    print(json.dumps({"engine_seconds": round(total, 3), "steps": steps, "plan": a.plan,
                      "threads": a.threads, "duckdb": duckdb.__version__,
                      "costs_raw": n_costs, "tags_index": n_tags}))


if __name__ == "__main__":
    try:
        main()
    except duckdb.Error as e:
        print(f"duckdb_job: {e}", file=sys.stderr)
        sys.exit(1)
