"""Every bundled FOCUS sample: cost-and-usage files convert exactly; the others fail, located."""

from __future__ import annotations

import re
import shutil

import pyarrow.parquet as pq
import pytest

from conftest import SAMPLES
from focus_helpers import (
    assert_dataset, assert_no_crash, assert_nothing_committed, expected_from_csv, file_url, merge,
    parquet_files, read_records, source_alternatives, assert_summary,
)

SAMPLE_FILES = sorted(SAMPLES.glob("*/*.csv"))
NOT_CU = [p for p in SAMPLE_FILES if "contractcommitment" in p.name or p.name.startswith("scenario_")]
CU = [p for p in SAMPLE_FILES if p not in NOT_CU]


def test_sample_inventory():
    """SOURCES.md: 21 files; 14 cost-and-usage, 3 contract-commitment, 4 scenario fragments."""
    assert len(SAMPLE_FILES) == 21, SAMPLE_FILES
    assert len(CU) == 14 and len(NOT_CU) == 7
    for p in CU:
        assert "ChargePeriodStart" in read_records(p)[0], p
    for p in NOT_CU:
        assert "ChargePeriodStart" not in read_records(p)[0], p


@pytest.mark.parametrize("sample", CU, ids=lambda p: p.name)
def test_cost_and_usage_sample_converts(sample, ingest, out_dir):
    exp = expected_from_csv(sample)
    r = ingest(sample.resolve(), out_dir)
    assert_no_crash(r)
    assert r.code == 0, str(r)
    assert_dataset(out_dir, exp)
    assert_summary(r.summary(), exp)


@pytest.mark.parametrize("sample", NOT_CU, ids=lambda p: p.name)
def test_not_cost_and_usage_sample_fails_located(sample, ingest, out_dir):
    r = ingest(sample.resolve(), out_dir)
    assert_no_crash(r)
    assert r.code == 1, str(r)
    src = source_alternatives(sample)
    assert re.search(rf"(?m)^focus-ingest: {src}:1(?::\d+)?: .*ChargePeriodStart", r.stderr), str(r)
    assert_nothing_committed(out_dir)


def test_all_samples_in_one_dataset_via_double_star_glob(ingest, out_dir, tmp_path):
    """Sources with different schemas (1.0, 1.2, 1.3) share days: union by name, one tags_index."""
    tree = tmp_path / "exports"
    for i, p in enumerate(CU):
        dst = tree / p.parent.name / f"d{i % 3}" / p.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dst)
    (tree / "focus-1.3" / "notes.txt").write_text("not a csv\n")
    exp = merge(*(expected_from_csv(p) for p in CU))
    r = ingest(file_url(tree) + "/**/*.csv", out_dir)
    assert_no_crash(r)
    assert r.code == 0, str(r)
    assert_dataset(out_dir, exp)
    assert_summary(r.summary(), exp)


@pytest.mark.parametrize("sample,batch", [
    (SAMPLES / "focus-1.3" / "aws_focus-1.3_costandusage_100rows.csv", 7),
    (SAMPLES / "focus-1.0" / "focus-1.0_multi-provider_sandbox-anon_1000rows.csv", 333),
], ids=["1.3-aws-by-7", "1.0-by-333"])
def test_small_batches_give_the_same_dataset(sample, batch, ingest, out_dir):
    r = ingest(sample.resolve(), out_dir, "--batch-size", str(batch))
    assert r.code == 0, str(r)
    assert_dataset(out_dir, expected_from_csv(sample))


def test_ingest_subcommand_and_file_url_input(cli, out_dir):
    sample = SAMPLES / "focus-1.3" / "multi_focus-1.3_costandusage_handauthored_consolidated.csv"
    r = cli("ingest", "--input", file_url(sample), "--output", file_url(out_dir), "--progress", "never")
    assert_no_crash(r)
    assert r.code == 0, str(r)
    assert_dataset(out_dir, expected_from_csv(sample))


@pytest.mark.parametrize("codec,names", [
    ("snappy", {"SNAPPY"}), ("zstd", {"ZSTD"}), ("gzip", {"GZIP"}),
    ("lz4", {"LZ4", "LZ4_RAW"}), ("none", {"UNCOMPRESSED"}),
])
def test_compression_flag(codec, names, ingest, out_dir):
    sample = SAMPLES / "focus-1.2" / "gcp_focus-1.2_costandusage_100rows.csv"
    r = ingest(sample.resolve(), out_dir, "--compression", codec)
    assert r.code == 0, str(r)
    files = parquet_files(out_dir)
    assert files
    for f in files:
        md = pq.ParquetFile(f).metadata
        used = {md.row_group(g).column(c).compression
                for g in range(md.num_row_groups) for c in range(md.num_columns)}
        assert used <= names, f"{f}: {used} with --compression {codec}"
    assert_dataset(out_dir, expected_from_csv(sample))
