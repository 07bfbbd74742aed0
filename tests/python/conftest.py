"""End-to-end tests of the focus-ingest binary, checked with independent readers.

README: run `make py-test` from the repository root (it builds bin/focus-ingest, creates .venv with
pyarrow, duckdb and pytest from tests/python/requirements.txt, and sets FOCUS_INGEST_BIN). By hand:
`FOCUS_INGEST_BIN=$PWD/bin/focus-ingest .venv/bin/pytest -q tests/python`. These tests never build
anything; they run the binary as a subprocess and compare its Parquet output, read with pyarrow and
DuckDB, against expectations computed from the source CSV with Python's csv, decimal and json.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from focus_helpers import Run, file_url, run_bin, serve_binary

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "testdata" / "focus"


@pytest.fixture(scope="session")
def focus_bin() -> Path:
    """The binary under test, from FOCUS_INGEST_BIN. Builds nothing (the Makefile does)."""
    value = os.environ.get("FOCUS_INGEST_BIN")
    if not value:
        pytest.fail("FOCUS_INGEST_BIN is not set: run `make py-test`, or set it to the built "
                    "bin/focus-ingest", pytrace=False)
    path = Path(value)
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"FOCUS_INGEST_BIN={value} is not an executable file: run `make build` first",
                    pytrace=False)
    return path


@pytest.fixture
def cli(focus_bin):
    """cli(*args) runs the binary and returns a Run (exit code, stdout, stderr)."""
    def _run(*args, timeout=300, cwd=None) -> Run:
        return run_bin(focus_bin, *args, timeout=timeout, cwd=cwd)
    return _run


@pytest.fixture
def ingest(cli):
    """ingest(inputs, out, *extra) runs `focus-ingest --input ... --output file://out --json`."""
    def _ingest(inputs, out, *extra, json_summary=True, timeout=300) -> Run:
        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        args = []
        for i in inputs:
            args += ["--input", str(i)]
        args += ["--output", file_url(out), "--progress", "never"]
        if json_summary:
            args.append("--json")
        return cli(*args, *extra, timeout=timeout)
    return _ingest


@pytest.fixture
def out_dir(tmp_path) -> Path:
    d = tmp_path / "lake"
    d.mkdir()
    return d


@pytest.fixture
def flight_server(focus_bin, tmp_path):
    """Starts `focus-ingest serve` on 127.0.0.1:0 over tmp_path/lake, allowing DoAction ingest under
    tmp_path/in/; yields (location "grpc://127.0.0.1:PORT", tmp_path) once it serves; stops it with
    SIGTERM and expects a clean exit."""
    (tmp_path / "in").mkdir()
    with serve_binary(focus_bin, tmp_path / "lake", "--allow-source", file_url(tmp_path / "in") + "/") as (addr, _):
        yield f"grpc://{addr}", tmp_path


@pytest.fixture
def server(flight_server):
    """The running server of flight_server (tmp_path/in/ allowed); yields a connected client."""
    import pyarrow.flight as flight

    location, tmp_path = flight_server
    with flight.connect(location) as client:
        yield client, tmp_path
