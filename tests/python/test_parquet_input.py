"""Parquet FOCUS exports convert to the same datasets as their CSV twins.

Each twin is written here with pyarrow from the CSV text, independently of the Go code:
- decimal twin: money and quantities as decimal128(38, s) holding every CSV value exactly, timestamps as
  timestamp[us, UTC], Tags as map<string, string>, nulls as Parquet nulls. It must give exactly the
  CSV's dataset (every column, every partition, tags_index, rounded count).
- double twin: money and quantities as float64 (float(text)), timestamps as INT96, Tags as the JSON
  text, every other column as the raw CSV text (null tokens included). Money must be the exact binary
  value of each double, rounded half to even at the column's scale (Python's Decimal(float) is exact),
  and the summary must count the values whose result differs from the shortest decimal's ("inexact").
"""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SAMPLES
from focus_helpers import (
    QUANTITY_SCALE, assert_dataset, assert_located, assert_no_crash, assert_nothing_committed,
    assert_summary, canonical, expected_from_csv, kind_of, norm, parse_tags, parse_ts, read_costs_pyarrow,
    read_records, read_tags_pyarrow,
)

SAMPLE = SAMPLES / "focus-1.2" / "aws_focus-1.2_costandusage_100rows.csv"
MONEY_SCALE = 32
NULLS = {"", "NULL", "null"}
ROW_GROUP = 17  # several row groups, maps and batches straddling them
CTX = Context(prec=2000, rounding=ROUND_HALF_EVEN)


def columns(path):
    header, records = read_records(path)
    names = [canonical(h) for h in header]
    return names, [[rec[i] for _, rec in records] for i in range(len(names))]


def frac_digits(texts) -> int:
    return max([-Decimal(t).as_tuple().exponent for t in texts if t not in NULLS] + [0])


def decimal_twin(path, out: Path) -> Path:
    names, cols = columns(path)
    arrays, fields = [], []
    for name, texts in zip(names, cols):
        k = kind_of(name)
        if k in ("money", "quantity"):
            scale = frac_digits(texts)
            typ = pa.decimal128(38, scale)
            vals = [None if t in NULLS else Decimal(t) for t in texts]
        elif k == "timestamp":
            typ = pa.timestamp("us", tz="UTC")
            vals = [None if t in NULLS else parse_ts(t) for t in texts]
        elif k == "tags":
            typ = pa.map_(pa.string(), pa.string())
            vals = [None if t in NULLS else list(parse_tags(t).items()) for t in texts]
        else:
            typ = pa.string()
            vals = [None if t in NULLS else t for t in texts]
        arrays.append(pa.array(vals, type=typ))
        fields.append(pa.field(name, typ))
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), out, row_group_size=ROW_GROUP)
    return out


def double_twin(path, out: Path) -> Path:
    names, cols = columns(path)
    arrays, fields = [], []
    for name, texts in zip(names, cols):
        k = kind_of(name)
        if k in ("money", "quantity"):
            typ = pa.float64()
            vals = [None if t in NULLS else float(t) for t in texts]
        elif k == "timestamp":
            typ = pa.timestamp("ns", tz="UTC")  # written as INT96 below
            vals = [None if t in NULLS else parse_ts(t) for t in texts]
        else:
            typ = pa.string()  # Tags as JSON text; null tokens kept as text
            vals = list(texts)
        arrays.append(pa.array(vals, type=typ))
        fields.append(pa.field(name, typ))
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), out, row_group_size=ROW_GROUP,
                   use_deprecated_int96_timestamps=True)
    return out


def exact_float(f: float, scale: int) -> tuple[Decimal, bool, bool]:
    """(value, rounded, inexact): the double's exact binary value rounded half to even at scale;
    inexact when that differs from the rounding of its shortest decimal form (repr)."""
    q = Decimal(1).scaleb(-scale)
    exact = Decimal(f)  # exact: every double is a finite binary fraction
    v = exact.quantize(q, context=CTX)
    short = Decimal(repr(f)).quantize(q, context=CTX)
    return v, v != exact, v != short


def expected_double(path):
    exp = expected_from_csv(path)
    names, cols = columns(path)
    out = copy.deepcopy(exp)
    out.rounded, inexact = 0, 0
    by_line = {r["_line"]: r for r in out.rows}
    _, records = read_records(path)
    for i, name in enumerate(names):
        k = kind_of(name)
        if k not in ("money", "quantity"):
            continue
        scale = MONEY_SCALE if k == "money" else QUANTITY_SCALE
        for line, rec in records:
            t = rec[i]
            if t in NULLS:
                continue
            v, rounded, inex = exact_float(float(t), scale)
            by_line[line][name] = v
            out.rounded += rounded
            inexact += inex
    return out, inexact


def table_rows(out):
    rows, _ = read_costs_pyarrow(out)
    return sorted((tuple(sorted((k, repr(norm(v))) for k, v in r.items())) for r in rows))


def test_exact_float_reference():
    """The Python reference itself: 0.1 is inexact at scale 32, 0.5 is not."""
    v, rounded, inexact = exact_float(0.1, 32)
    assert str(v) == "0.10000000000000000555111512312578" and rounded and inexact
    assert exact_float(0.5, 32) == (Decimal("0.5"), False, False)


def test_decimal_twin_same_dataset_as_csv(ingest, tmp_path):
    exp = expected_from_csv(SAMPLE)
    twin = decimal_twin(SAMPLE, tmp_path / "aws.parquet")
    meta = pq.ParquetFile(twin).metadata
    assert meta.num_row_groups > 1
    out_csv, out_pq = tmp_path / "lake_csv", tmp_path / "lake_pq"
    r_csv = ingest(SAMPLE.resolve(), out_csv)
    r_pq = ingest(twin, out_pq)
    for r in (r_csv, r_pq):
        assert_no_crash(r)
        assert r.code == 0, str(r)
    assert_dataset(out_pq, exp)
    assert_summary(r_pq.summary(), exp)
    assert r_pq.summary().get("inexact", 0) == 0, r_pq.summary()
    # Both outputs read back with pyarrow: identical rows, partitions and tags_index.
    assert table_rows(out_pq) == table_rows(out_csv)
    tags = lambda o: sorted(repr(sorted(r.items())) for r in read_tags_pyarrow(o))
    assert tags(out_pq) == tags(out_csv)
    s_csv, s_pq = r_csv.summary(), r_pq.summary()
    for k in ("rows", "partitions", "rounded", "rejected"):
        assert s_csv[k] == s_pq[k], (k, s_csv, s_pq)


@pytest.mark.parametrize("name", ["aws-double.parquet", "aws-double.export"])
def test_double_int96_twin_exact_binary_values(ingest, tmp_path, name):
    """Doubles convert from their stored binary value, INT96 timestamps decode, string Tags parse.
    The second name has no .parquet suffix: the file is recognised by its PAR1 magic."""
    exp, inexact = expected_double(SAMPLE)
    twin = double_twin(SAMPLE, tmp_path / name)
    schema = pq.ParquetFile(twin).schema
    assert schema.column(schema.names.index("ChargePeriodStart")).physical_type == "INT96"
    out = tmp_path / "lake"
    r = ingest(twin, out)
    assert_no_crash(r)
    assert r.code == 0, str(r)
    assert_dataset(out, exp)
    s = r.summary()
    assert_summary(s, exp)
    assert inexact > 0, "the sample should hold decimals a double cannot represent"
    assert s["inexact"] == inexact, s


def test_parquet_nan_cost_is_located(ingest, tmp_path):
    names, cols = columns(SAMPLE)
    table = pq.read_table(double_twin(SAMPLE, tmp_path / "t.parquet"))
    i = names.index("BilledCost")
    costs = table.column(i).to_pylist()
    costs[41] = float("nan")
    table = table.set_column(i, "BilledCost", pa.array(costs, type=pa.float64()))
    bad = tmp_path / "nan.parquet"
    pq.write_table(table, bad, row_group_size=ROW_GROUP, use_deprecated_int96_timestamps=True)
    out = tmp_path / "lake"
    r = ingest(bad, out)
    assert_no_crash(r)
    assert r.code == 1, str(r)
    # Rows are numbered as the lines of the CSV twin: row 41 (0-based) is line 43; columns 1-based.
    assert_located(r, bad, 43, i + 1, "BilledCost", "NaN")
    assert_nothing_committed(out)
