"""Randomised (seeded) differential checks: thousands of generated numbers, timestamps and Tags
objects, converted by the binary and by Python's decimal/datetime/json, compared value by value."""

from __future__ import annotations

import random

import pytest

from focus_helpers import (
    Invalid, assert_dataset, assert_no_crash, assert_summary, convert_value, expected_from_csv,
)
from synth import good_cells, line_of, write_csv


def rand_number(rng: random.Random) -> str:
    sign = "-" if rng.random() < 0.4 else ""
    lead = "0" * rng.choice([0, 0, 0, 1, 5])
    ip = str(rng.randrange(0, 10 ** rng.randint(1, 6)))
    frac = ""
    if rng.random() < 0.85:
        n = rng.choice([1, 2, 5, 11, 17, 18, 19, 31, 32, 33, 34, 40, 60])
        digits = "".join(rng.choice("0123456789") for _ in range(n))
        if rng.random() < 0.4:  # make a tie just past a scale
            cut = rng.choice([18, 32])
            digits = (digits + "0" * cut)[:cut] + "5" + "0" * rng.choice([0, 0, 3])
        frac = "." + digits
    exp = ""
    if rng.random() < 0.3:
        e = rng.randint(-40, 3)
        exp = rng.choice("eE") + ("-" if e < 0 else rng.choice(["", "+"])) + \
            "0" * rng.choice([0, 0, 1]) + str(abs(e))
    return sign + lead + ip + frac + exp


def rand_timestamp(rng: random.Random, few_days=False) -> str:
    """few_days: around 2024-02-29 only (a partition key: keeps the file count small)."""
    y, mo = rng.randint(1960, 2100), rng.randint(1, 12)
    d = rng.randint(1, [31, 29 if y % 4 == 0 and (y % 100 or y % 400 == 0) else 28, 31, 30, 31, 30,
                        31, 31, 30, 31, 30, 31][mo - 1])
    if few_days:
        y, mo, d = rng.choice([(2024, 2, 28), (2024, 2, 29), (2024, 3, 1), (2023, 12, 31), (2024, 1, 1)])
    s = f"{y:04d}-{mo:02d}-{d:02d}{rng.choice('T ')}{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    if rng.random() < 0.8:
        s += f":{rng.randint(0, 59):02d}"
        if rng.random() < 0.5:
            s += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 9)))
    z = rng.random()
    if z < 0.3:
        s += "Z"
    elif z < 0.7:
        s += f"{rng.choice('+-')}{rng.randint(0, 14):02d}:{rng.choice(['00', '30', '45'])}"
    return s


def rand_json_number(rng: random.Random) -> str:
    s = rng.choice(["", "-"]) + rng.choice(["0", str(rng.randint(1, 10 ** rng.randint(1, 25)))])
    if rng.random() < 0.5:
        s += "." + str(rng.randint(0, 10 ** 6)).rjust(rng.randint(1, 7), "0")
    if rng.random() < 0.3:
        s += rng.choice("eE") + rng.choice(["", "+", "-"]) + str(rng.randint(0, 30))
    return s


def rand_json_string(rng: random.Random) -> str:
    pieces = ["a", "Z", " ", "é", "☃", "😀", '\\"', "\\\\", "\\/", "\\n", "\\t", "\\u00e9", "\\ud83d\\ude00", ":", ",", "{"]
    return '"' + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) + '"'


def rand_tags(rng: random.Random) -> str:
    items = []
    for _ in range(rng.randint(0, 5)):
        v = rng.random()
        value = (rand_json_string(rng) if v < 0.5 else rand_json_number(rng) if v < 0.75
                 else rng.choice(["true", "false", "null"]))
        items.append(rand_json_string(rng) + rng.choice(["", " "]) + ":" + rng.choice(["", " "]) + value)
    return "{" + rng.choice(["", " "]) + ",".join(items) + "}"


def _valid(column, text) -> bool:
    try:
        convert_value(column, text)
        return True
    except Invalid:
        return False


@pytest.mark.parametrize("seed", [1, 2])
def test_random_values_match_python(seed, tmp_path, ingest, out_dir):
    rng = random.Random(seed)
    lines = []
    for i in range(1500):
        c = good_cells(i)
        for col in ("BilledCost", "EffectiveCost", "ListUnitPrice", "ConsumedQuantity", "PricingQuantity"):
            v = rand_number(rng)
            while not _valid(col, v):  # keep in-range values: this test is about exactness
                v = rand_number(rng)
            c[col] = v
        c["ChargePeriodStart"] = rand_timestamp(rng, few_days=True)
        c["ChargePeriodEnd"] = rand_timestamp(rng)
        c["Tags"] = rand_tags(rng)
        c["ResourceId"] = f"r{rng.randint(0, 30)}"
        lines.append(line_of(c))
    src = write_csv(tmp_path / f"random{seed}.csv", lines)
    exp = expected_from_csv(src)
    r = ingest(src, out_dir)
    assert_no_crash(r)
    assert r.code == 0, str(r)
    assert_dataset(out_dir, exp)
    assert_summary(r.summary(), exp)
