"""Jobs: quarantine, per-source replacement, --overwrite, --source, money scale, usage errors,
summaries, logs, atomicity under kill and concurrency."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import SAMPLES
from focus_helpers import (
    child_env, Expected, assert_dataset, assert_no_crash, assert_summary, duck_count, expected_from_csv,
    file_url, merge, parquet_files, read_costs_pyarrow, read_records,
)
from synth import BASE_HEADER, good_cells, line_of, write_csv


def _ok(run):
    assert_no_crash(run)
    assert run.code == 0, str(run)
    return run


def _rows(first, n, **override):
    out = []
    for i in range(first, first + n):
        c = good_cells(i)
        c.update({k: (v(i) if callable(v) else v) for k, v in override.items()})
        out.append(line_of(c))
    return out


def only_days(exp: Expected, keep) -> Expected:
    out = Expected(columns=exp.columns)
    out.rows = [r for r in exp.rows if keep(r["_part"])]
    return out


# ---------------------------------------------------------------------------------------------
# --on-error quarantine

def _reject_records(out):
    d = Path(out) / "_rejects"
    files = sorted(d.glob("*.jsonl")) if d.exists() else []
    recs = []
    for f in files:
        for ln in f.read_text(encoding="utf-8").splitlines():
            if ln.strip():
                recs.append(json.loads(ln))
    return files, recs


def _pick(rec, *names):
    for n in names:
        if n in rec:
            return rec[n]
    raise AssertionError(f"reject record has none of {names}: {rec}")


def test_quarantine_two_bad_rows(tmp_path, ingest, out_dir):
    lines = _rows(0, 20)
    bad1 = good_cells(100)
    bad1["BilledCost"] = "12,50"
    bad2 = good_cells(101)
    bad2["ChargePeriodStart"] = "2024-09-31T00:00:00Z"
    lines.insert(4, line_of(bad1))     # line 6
    lines.insert(13, line_of(bad2))    # line 15
    src = write_csv(tmp_path / "mixed.csv", lines)
    header, records = read_records(src)
    raw_by_line = dict(zip([ln for ln, _ in records], lines))
    assert raw_by_line[6] == lines[4] and raw_by_line[15] == lines[13]

    r = ingest(src, out_dir, "--on-error", "quarantine")
    assert_no_crash(r)
    assert r.code == 3, str(r)
    exp = expected_from_csv(src, skip_lines={6, 15})
    assert len(exp.rows) == 20
    assert_dataset(out_dir, exp)
    s = r.summary()
    assert s["rejected"] == 2 and s["rows"]["costs_raw"] == 20, s

    files, recs = _reject_records(out_dir)
    assert files, f"no _rejects/*.jsonl under {out_dir}"
    assert len(recs) == 2, recs
    by_line = {int(_pick(x, "line")): x for x in recs}
    assert set(by_line) == {6, 15}, recs
    for line, column in ((6, "BilledCost"), (15, "ChargePeriodStart")):
        rec = by_line[line]
        assert _pick(rec, "source") in (str(src.resolve()), file_url(src)), rec
        reason = _pick(rec, "reason", "error", "message")
        assert isinstance(reason, str) and reason.strip(), rec
        assert column in json.dumps(rec), f"reject record does not name {column}: {rec}"
        raw = _pick(rec, "raw", "text", "record", "raw_text", "original")
        assert raw.rstrip("\r\n") == raw_by_line[line], rec


def test_quarantine_ragged_row_and_bad_tags(tmp_path, ingest, out_dir):
    lines = _rows(0, 6)
    lines.insert(2, line_of(good_cells(50)) + ",extra")                   # line 4
    lines.insert(5, line_of(dict(good_cells(51), Tags='{"a":{"b":1}}')))  # line 7
    src = write_csv(tmp_path / "q2.csv", lines)
    r = ingest(src, out_dir, "--on-error", "quarantine")
    assert_no_crash(r)
    assert r.code == 3, str(r)
    assert_dataset(out_dir, expected_from_csv(src, skip_lines={4, 7}))
    _, recs = _reject_records(out_dir)
    assert sorted(int(_pick(x, "line")) for x in recs) == [4, 7], recs


def test_quarantine_keeps_every_row_before_damaged_gzip(tmp_path, ingest, out_dir):
    """A gzip cut off part way, with more rows before the cut than a batch holds and a bare quote
    early on: every good row before the cut commits (the values checked against Python's decimal),
    the bare-quote row is one reject and the rest of the input another. The cut follows a sync
    flush, so zlib (checked here) and any other inflater have exactly the text before it."""
    lines = _rows(0, 12_000)
    lines[4] = line_of(good_cells(4), raw=("ResourceName",)).replace("name 4", 'name "4"')  # line 6
    head = (",".join(BASE_HEADER) + "\n" + "".join(ln + "\n" for ln in lines[:10_000])).encode()
    tail = "".join(ln + "\n" for ln in lines[10_000:]).encode()
    co = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    data = co.compress(head) + co.flush(zlib.Z_SYNC_FLUSH)
    cut = len(data)
    data += co.compress(tail) + co.flush()
    src = tmp_path / "cut.csv.gz"
    src.write_bytes(data[:cut])
    assert zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:cut]) == head

    r = ingest(src, out_dir, "--on-error", "quarantine")
    assert_no_crash(r)
    assert r.code == 3, str(r)
    before = write_csv(tmp_path / "before-the-cut.csv", lines[:10_000])
    exp = expected_from_csv(before, skip_lines={6})
    assert len(exp.rows) == 9_999
    assert_dataset(out_dir, exp)
    s = r.summary()
    assert s["rows"]["costs_raw"] == 9_999 and s["rejected"] == 2, s
    _, recs = _reject_records(out_dir)
    assert sorted(_pick(rec, "line") for rec in recs) == [6, 10_002], recs


def test_quarantine_without_bad_rows_exits_0(tmp_path, ingest, out_dir):
    src = write_csv(tmp_path / "clean.csv", _rows(0, 10))
    r = _ok(ingest(src, out_dir, "--on-error", "quarantine"))
    exp = expected_from_csv(src)
    assert_dataset(out_dir, exp)
    assert_summary(r.summary(), exp)
    assert _reject_records(out_dir)[1] == []


def test_on_error_fail_is_the_default_and_explicit(tmp_path, ingest, out_dir):
    lines = _rows(0, 5)
    lines.append(line_of(dict(good_cells(9), BilledCost="1.0x")))
    src = write_csv(tmp_path / "f.csv", lines)
    r = ingest(src, out_dir, "--on-error", "fail")
    assert_no_crash(r)
    assert r.code == 1, str(r)
    assert not parquet_files(out_dir)
    assert _reject_records(out_dir)[1] == []


# ---------------------------------------------------------------------------------------------
# Idempotency per source, --source, --overwrite

def test_reingest_same_file_twice_no_duplicates(tmp_path, ingest, out_dir):
    src = SAMPLES / "focus-1.2" / "azure_focus-1.2_costandusage_100rows.csv"
    exp = expected_from_csv(src)
    _ok(ingest(src.resolve(), out_dir))
    r = _ok(ingest(src.resolve(), out_dir))
    assert_dataset(out_dir, exp)
    assert_summary(r.summary(), exp, fresh=False)
    assert duck_count(out_dir) == len(exp.rows)


def test_changed_redelivery_replaces_the_source_rows(tmp_path, ingest, out_dir):
    other = write_csv(tmp_path / "other.csv", _rows(200, 12, ResourceId=lambda i: f"res-{i % 5}"))
    src = tmp_path / "export.csv"
    write_csv(src, _rows(0, 30))                       # days 18..26
    _ok(ingest(other, out_dir))
    _ok(ingest(src, out_dir))
    assert_dataset(out_dir, merge(expected_from_csv(other), expected_from_csv(src)))
    # Re-delivery: fewer rows, changed values and tags, fewer days.
    write_csv(src, _rows(0, 8, BilledCost="7.77", Tags='{"env":"staging","v":"2"}'))
    r = _ok(ingest(src, out_dir))
    exp = merge(expected_from_csv(other), expected_from_csv(src))
    assert_dataset(out_dir, exp)
    s = r.summary()
    assert s["rows"]["costs_raw"] == 8, s


def test_source_flag_keys_replacement(tmp_path, ingest, out_dir):
    a = write_csv(tmp_path / "a.csv", _rows(0, 10))
    b = write_csv(tmp_path / "b.csv", _rows(3, 4, BilledCost="1"))
    _ok(ingest(a, out_dir, "--source", "aws-2024-09"))
    _ok(ingest(b, out_dir, "--source", "aws-2024-09"))
    assert_dataset(out_dir, expected_from_csv(b))


def test_distinct_sources_are_both_kept(tmp_path, ingest, out_dir):
    a = write_csv(tmp_path / "a.csv", _rows(0, 10))
    b = tmp_path / "copy-of-a.csv"
    shutil.copyfile(a, b)
    _ok(ingest(a, out_dir))
    _ok(ingest(b, out_dir))
    exp = merge(expected_from_csv(a), expected_from_csv(b))
    assert len(exp.rows) == 20
    assert_dataset(out_dir, exp)  # costs_raw doubled, tags_index still distinct


def test_overwrite_replaces_touched_partitions_only(tmp_path, ingest, out_dir):
    a = write_csv(tmp_path / "a.csv", _rows(0, 20))      # 7h apart: days 18..23
    exp_a = expected_from_csv(a)
    days = sorted(exp_a.partitions)
    touched = days[2]
    b_lines = _rows(500, 3, ChargePeriodStart="%04d-%02d-%02dT12:00:00Z" % touched,
                    ChargePeriodEnd="%04d-%02d-%02dT13:00:00Z" % touched,
                    Tags='{"owner":"b"}')
    b = write_csv(tmp_path / "b.csv", b_lines)
    _ok(ingest(a, out_dir))
    r = _ok(ingest(b, out_dir, "--overwrite"))
    exp = merge(only_days(exp_a, lambda p: p != touched), expected_from_csv(b))
    assert_dataset(out_dir, exp)
    assert r.summary()["rows"]["costs_raw"] == 3


# ---------------------------------------------------------------------------------------------
# Money scale

def test_money_scale_10_then_32_is_refused(tmp_path, ingest, out_dir):
    lines = _rows(0, 6)
    lines.append(line_of(dict(good_cells(6), BilledCost="12345678.123456789012345")))
    lines.append(line_of(dict(good_cells(7), BilledCost="0.00000000005", EffectiveCost="0.00000000015")))
    lines.append(line_of(dict(good_cells(8), BilledCost="-0.00000000025", EffectiveCost="1234567.0")))
    src = write_csv(tmp_path / "s10.csv", lines)
    exp = expected_from_csv(src, money_scale=10)
    assert exp.rounded >= 4
    r = _ok(ingest(src, out_dir, "--money-scale", "10"))
    assert_dataset(out_dir, exp, money_scale=10)
    assert_summary(r.summary(), exp)
    rows, _ = read_costs_pyarrow(out_dir)
    got = {x["ResourceName"]: x for x in rows}
    assert got["name 6"]["BilledCost"] == Decimal("12345678.1234567890")
    assert got["name 7"]["BilledCost"] == Decimal(0) and got["name 7"]["EffectiveCost"] == Decimal("0.0000000002")
    assert got["name 8"]["BilledCost"] == Decimal("-0.0000000002")

    before = sorted(parquet_files(out_dir))
    other = write_csv(tmp_path / "s32.csv", _rows(40, 3))
    r = ingest(other, out_dir, "--money-scale", "32")
    assert_no_crash(r)
    assert r.code in (1, 2), str(r)
    assert re.search(r"(?i)scale", r.stderr) and re.search(r"\b(10|32)\b", r.stderr), str(r)
    assert sorted(parquet_files(out_dir)) == before
    assert_dataset(out_dir, exp, money_scale=10)


# ---------------------------------------------------------------------------------------------
# Usage errors, logs, summaries

@pytest.mark.parametrize("args", [
    ["--bogus-flag"],
    ["--compression", "brotli"],
    ["--on-error", "skip"],
    ["--batch-size", "many"],
    ["--progress", "sometimes"],
    ["--money-scale", "39"],
    ["--money-scale", "-1"],
], ids=["unknown-flag", "bad-compression", "bad-on-error", "bad-batch-size", "bad-progress",
        "money-scale-39", "money-scale-negative"])
def test_usage_errors_exit_2(args, tmp_path, cli, out_dir):
    src = write_csv(tmp_path / "ok.csv", _rows(0, 3))
    r = cli("--input", str(src), "--output", file_url(out_dir), *args)
    assert_no_crash(r)
    assert r.code == 2, str(r)
    assert r.stderr.strip(), "a usage error says what is wrong"
    assert not parquet_files(out_dir)


@pytest.mark.parametrize("drop", ["--input", "--output"])
def test_missing_required_flag_exit_2(drop, tmp_path, cli, out_dir):
    src = write_csv(tmp_path / "ok.csv", _rows(0, 3))
    args = {"--input": str(src), "--output": file_url(out_dir)}
    del args[drop]
    r = cli(*[x for kv in args.items() for x in kv], "--progress", "never")
    assert_no_crash(r)
    assert r.code == 2, str(r)
    assert not parquet_files(out_dir)


def test_input_matching_nothing_is_an_error(tmp_path, ingest, out_dir):
    r = ingest(file_url(tmp_path) + "/nothing-here/**/*.csv", out_dir)
    assert_no_crash(r)
    assert r.code in (1, 2), str(r)
    assert not parquet_files(out_dir)


def test_log_dir_gets_json_lines(tmp_path, ingest, out_dir):
    logs = tmp_path / "logs"
    src = write_csv(tmp_path / "ok.csv", _rows(0, 5))
    _ok(ingest(src, out_dir, "--log-dir", str(logs)))
    files = [p for p in logs.rglob("*") if p.is_file()] if logs.exists() else []
    assert files, f"nothing written to --log-dir {logs}"
    lines = [ln for f in files for ln in f.read_text().splitlines() if ln.strip()]
    assert lines
    for ln in lines:
        assert isinstance(json.loads(ln), dict), ln


def test_output_directory_is_created(tmp_path, ingest):
    out = tmp_path / "new" / "lake"
    src = write_csv(tmp_path / "ok.csv", _rows(0, 5))
    _ok(ingest(src, out))
    assert_dataset(out, expected_from_csv(src))


# ---------------------------------------------------------------------------------------------
# Atomicity: a killed job leaves nothing visible; concurrent jobs both commit.

def _big_csv(path, n, day0=1, res="k"):
    with open(path, "w", newline="") as fh:
        fh.write(",".join(BASE_HEADER) + "\n")
        for i in range(n):
            day = day0 + i % 5
            fh.write(f"2024-10-{day:02d}T{i % 24:02d}:00:00Z,2024-10-{day:02d}T{i % 24:02d}:30:00Z,"
                     f"{i % 997}.{i:08d},0.5,0.0001,{i}.5,1,{res}-{i % 50},vm {i},Compute,"
                     f"\"{{\"\"env\"\":\"\"e{i % 4}\"\"}}\",team\n")
    return path


def test_killed_job_leaves_nothing_visible(tmp_path, focus_bin, ingest, out_dir):
    big = _big_csv(tmp_path / "big.csv", 400_000)
    p = subprocess.Popen([str(focus_bin), "--input", str(big), "--output", file_url(out_dir),
                          "--progress", "never"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=child_env())
    time.sleep(0.4)
    if p.poll() is not None:
        pytest.skip("the job finished before it could be killed")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    visible = parquet_files(out_dir / "costs_raw") + parquet_files(out_dir / "tags_index")
    assert not visible, f"killed job left visible files: {visible[:3]}"
    # The next job cleans up the dead job's strays and commits its own rows only.
    small = write_csv(tmp_path / "small.csv", _rows(0, 10))
    _ok(ingest(small, out_dir))
    assert_dataset(out_dir, expected_from_csv(small))
    live = set(parquet_files(out_dir / "costs_raw") + parquet_files(out_dir / "tags_index"))
    stray = [f for f in parquet_files(out_dir) if f not in live]
    assert not stray, f"stray Parquet of the killed job still on disk: {stray[:3]}"


def test_concurrent_jobs_all_commit(tmp_path, focus_bin, out_dir):
    """Jobs committing at once into one dataset, on overlapping days: no commit is lost."""
    srcs = [_big_csv(tmp_path / f"c{k}.csv", 2_000, day0=1 + k, res=f"c{k}") for k in range(4)]
    procs = [subprocess.Popen([str(focus_bin), "--input", str(x), "--output", file_url(out_dir),
                               "--progress", "never"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=child_env())
             for x in srcs]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode(errors="replace")[-2000:]
    assert_dataset(out_dir, merge(*(expected_from_csv(x) for x in srcs)))


def test_repeated_input_flags(tmp_path, ingest, out_dir):
    a = write_csv(tmp_path / "a.csv", _rows(0, 5))
    b = write_csv(tmp_path / "b.csv", _rows(10, 5))
    r = _ok(ingest([a, b], out_dir))
    exp = merge(expected_from_csv(a), expected_from_csv(b))
    assert_dataset(out_dir, exp)
    assert_summary(r.summary(), exp)


def test_quarantine_every_row_bad(tmp_path, ingest, out_dir):
    src = write_csv(tmp_path / "allbad.csv", _rows(0, 3, BilledCost="n/a"))
    r = ingest(src, out_dir, "--on-error", "quarantine")
    assert_no_crash(r)
    assert r.code == 3, str(r)
    assert r.summary()["rejected"] == 3 and r.summary()["rows"]["costs_raw"] == 0
    assert duck_count(out_dir) == 0
    assert sorted(int(_pick(x, "line")) for x in _reject_records(out_dir)[1]) == [2, 3, 4]


def test_quarantined_multiline_record_keeps_its_original_text(tmp_path, ingest, out_dir):
    bad = dict(good_cells(7), ResourceName="two\nlines", BilledCost="1.2.3")
    lines = _rows(0, 2) + [line_of(bad)] + _rows(2, 2)
    src = write_csv(tmp_path / "mlq.csv", lines)
    r = ingest(src, out_dir, "--on-error", "quarantine")
    assert_no_crash(r)
    assert r.code == 3, str(r)
    assert_dataset(out_dir, expected_from_csv(src, skip_lines={4}))
    _, recs = _reject_records(out_dir)
    assert len(recs) == 1 and int(_pick(recs[0], "line")) == 4, recs
    raw = _pick(recs[0], "raw", "text", "record", "raw_text", "original")
    assert raw.rstrip("\r\n") == line_of(bad), recs


def test_same_file_by_relative_path_absolute_path_and_url_is_one_source(tmp_path, cli, out_dir):
    """The default source key is the input's URL: one file named three ways is one source."""
    src = write_csv(tmp_path / "a.csv", _rows(0, 6))
    for spelling in ("a.csv", str(src), file_url(src), "./a.csv"):
        r = cli("--input", spelling, "--output", "lake", "--progress", "never", cwd=tmp_path)
        _ok(r)
    assert_dataset(out_dir, expected_from_csv(src))


def test_header_only_redelivery_removes_the_source_rows(tmp_path, ingest, out_dir):
    keep = write_csv(tmp_path / "keep.csv", _rows(100, 5))
    src = write_csv(tmp_path / "period.csv", _rows(0, 10))
    _ok(ingest(keep, out_dir))
    _ok(ingest(src, out_dir))
    write_csv(src, [])  # the provider re-delivers the period with no charges left
    _ok(ingest(src, out_dir))
    assert_dataset(out_dir, expected_from_csv(keep))


def test_progress_always_keeps_stdout_json_clean(tmp_path, cli, out_dir):
    src = write_csv(tmp_path / "p.csv", _rows(0, 50))
    r = _ok(cli("--input", str(src), "--output", file_url(out_dir), "--progress", "always", "--json"))
    assert_summary(r.summary(), expected_from_csv(src))


def test_output_that_is_a_file_is_an_error(tmp_path, ingest):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    src = write_csv(tmp_path / "ok.csv", _rows(0, 3))
    r = ingest(src, blocker)
    assert_no_crash(r)
    assert r.code in (1, 2), str(r)
    assert blocker.read_text() == "x"


def test_tags_index_follows_the_live_rows_of_every_source(tmp_path, ingest, out_dir):
    """A tag pair shared by two sources on one day survives while either source still has it."""
    shared = dict(ChargePeriodStart="2024-09-20T10:00:00Z", ChargePeriodEnd="2024-09-20T11:00:00Z",
                  ResourceId="res-shared", Tags='{"env":"prod"}')
    a = write_csv(tmp_path / "a.csv", _rows(0, 3, **shared))
    b = write_csv(tmp_path / "b.csv", _rows(10, 2, **shared))
    _ok(ingest(a, out_dir))
    _ok(ingest(b, out_dir))
    assert_dataset(out_dir, merge(expected_from_csv(a), expected_from_csv(b)))
    write_csv(a, [])                                   # a is re-delivered empty
    _ok(ingest(a, out_dir))
    assert_dataset(out_dir, expected_from_csv(b))      # the pair is still there, through b
    write_csv(b, _rows(10, 2, **dict(shared, Tags='{"env":"dev"}')))
    _ok(ingest(b, out_dir))
    assert_dataset(out_dir, expected_from_csv(b))      # now only env=dev


def test_human_summary_without_json(tmp_path, cli, out_dir):
    src = write_csv(tmp_path / "h.csv", _rows(0, 1234))
    exp = expected_from_csv(src)
    r = _ok(cli("--input", str(src), "--output", file_url(out_dir), "--progress", "never", "--fs", "local"))
    text = r.stdout + r.stderr
    for word in ("costs_raw", "tags_index", "rejected", "rounded"):
        assert word in text, f"summary lacks {word!r}\n{r}"
    assert re.search(r"\b1,?234\b", text), f"summary lacks the row count\n{r}"
    assert re.search(rf"\b{len(exp.tag_index())}\b", text.replace(",", "")), f"no tags_index count\n{r}"
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.stdout)  # without --json the summary is for people


def test_log_file_names_the_job(tmp_path, ingest, out_dir):
    logs = tmp_path / "logs"
    src = write_csv(tmp_path / "ok.csv", _rows(0, 5))
    r = _ok(ingest(src, out_dir, "--log-dir", str(logs)))
    job = r.summary()["job_id"]
    text = "".join(f.read_text() for f in logs.rglob("*") if f.is_file())
    assert job in text, f"job {job} not in the log files"


def test_quarantined_invalid_utf8_row_keeps_rejects_readable(tmp_path, ingest, out_dir):
    lines = _rows(0, 3) + [line_of(dict(good_cells(9), ResourceName="bad\x00name"))] + _rows(3, 2)
    src = write_csv(tmp_path / "u.csv", lines)
    src.write_bytes(src.read_bytes().replace(b"\x00", b"\xff"))
    r = ingest(src, out_dir, "--on-error", "quarantine")
    assert_no_crash(r)
    assert r.code == 3, str(r)
    assert_dataset(out_dir, _expected_without(src, 5))
    _, recs = _reject_records(out_dir)  # every line is JSON
    assert [int(_pick(x, "line")) for x in recs] == [5], recs


def _expected_without(src, line):
    """Expectation for a file whose line `line` is not UTF-8: read the other lines only."""
    data = src.read_bytes().split(b"\n")
    clean = src.with_name(src.stem + "-clean.csv")
    clean.write_bytes(b"\n".join(l for i, l in enumerate(data, 1) if i != line))
    return expected_from_csv(clean)
