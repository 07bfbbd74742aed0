"""Checks of docker/ that need no Docker engine: compose.yaml and the Kubernetes manifests parse, name
only flags and FOCUS_INGEST_* variables the real binary has, agree on the port, and their settings are
accepted by `focus-ingest serve` (started with them, output moved to a temporary directory, the token
file replaced by a test one, metrics on a free port): health answers without a token, Flight calls need
it, metrics are served. docker/docker_test.go checks the Dockerfile and its static build."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pyarrow.flight as flight
import pytest
import yaml

from conftest import REPO
from focus_helpers import child_env

DOCKER = REPO / "docker"
PORT = 8815
METRICS_PORT = 9815
TOKEN = "ci:" + "5f0c2a9e7b1d4c3f8a6e0b2d4f6a8c1e"
HEALTH_PROBE = REPO / "bin" / "tools" / "grpc-health-probe"


@pytest.fixture(scope="module")
def serve_flags(focus_bin) -> set:
    out = subprocess.run([str(focus_bin), "serve", "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"^\s+--([a-z][a-z-]*)", out, re.M))


def env_flag(name: str) -> str:
    return name.removeprefix("FOCUS_INGEST_").lower().replace("_", "-")


def check_args(args, flags):
    for a in args:
        if a.startswith("--"):
            assert a[2:].split("=")[0] in flags, f"{a} is not a serve flag"


def check_env(env: dict, flags):
    for k in env:
        if k.startswith("FOCUS_INGEST_"):
            assert env_flag(k) in flags, f"{k}: no --{env_flag(k)} flag in focus-ingest serve"


def serves_with(focus_bin, env: dict, tmp_path):
    """Starts serve with env (FOCUS_INGEST_* only; output, listen and metrics addresses moved here, the
    token file replaced by one holding TOKEN) until it is serving; then health must answer without a
    token, a Flight call must need one, and metrics must be served."""
    full = child_env()
    full.update({k: str(v) for k, v in env.items() if k.startswith("FOCUS_INGEST_")})
    full["FOCUS_INGEST_OUTPUT"] = str(tmp_path / "lake")
    full["FOCUS_INGEST_LISTEN"] = "127.0.0.1:0"
    full["FOCUS_INGEST_METRICS_LISTEN"] = "127.0.0.1:0"
    tokens = tmp_path / "tokens"
    tokens.write_text(TOKEN + "\n")
    full["FOCUS_INGEST_AUTH_TOKEN_FILE"] = str(tokens)
    p = subprocess.Popen([str(focus_bin), "serve"], env=full, stderr=subprocess.PIPE, text=True)
    log = []
    try:
        deadline = time.monotonic() + 20
        for line in p.stderr:
            log.append(line)
            if "msg=serving" in line or time.monotonic() > deadline:
                break
        text = "".join(log)
        assert "msg=serving" in text, text
        addr = re.search(r"msg=listening addr=(\S+)", text)[1]
        metrics = re.search(r'msg="metrics listening" addr=(\S+)', text)[1]
        check_served(addr, metrics)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=15)
    assert p.returncode == 0, "".join(log)


def check_served(addr: str, metrics: str):
    """Health without a token (what the probes do), Flight with and without, and the metrics page."""
    assert HEALTH_PROBE.exists(), f"{HEALTH_PROBE} missing: run `make tools`"
    probe = subprocess.run([str(HEALTH_PROBE), f"-addr={addr}", "-connect-timeout=2s", "-rpc-timeout=2s"],
                           capture_output=True, text=True)
    assert probe.returncode == 0 and "status: SERVING" in probe.stderr, probe.stdout + probe.stderr
    client = flight.FlightClient(f"grpc://{addr}")
    try:
        with pytest.raises(flight.FlightUnauthenticatedError):
            list(client.list_actions())
        auth = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer " + TOKEN.split(":")[1].encode())])
        assert "ingest" in {a.type for a in client.list_actions(options=auth)}
    finally:
        client.close()
    with urllib.request.urlopen(f"http://{metrics}/metrics", timeout=5) as r:
        assert r.status == 200 and b"# TYPE" in r.read()


def test_compose(serve_flags, focus_bin, tmp_path):
    c = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    svc = c["services"]
    assert {"focus-ingest", "s3", "azurite"} <= set(svc)
    fi = svc["focus-ingest"]
    context = (DOCKER / fi["build"]["context"]).resolve()
    assert context == REPO and (context / fi["build"]["dockerfile"]).is_file()
    env = fi["environment"]
    check_env(env, serve_flags)
    check_args(fi.get("command", []), serve_flags)
    assert env["FOCUS_INGEST_LISTEN"] == f":{PORT}"
    assert f"{PORT}:{PORT}" in fi["ports"]
    probe = fi["healthcheck"]["test"]
    assert probe[:2] == ["CMD", "/usr/local/bin/grpc-health-probe"] and f"-addr=127.0.0.1:{PORT}" in probe
    # The output is on the S3 emulator service, by its compose name and port.
    s3_port = svc["s3"]["ports"][0].split(":")[1]
    assert env["FOCUS_INGEST_OUTPUT"].startswith(f"s3://lake?endpoint=http://s3:{s3_port}&use_path_style=true")
    assert env["AZURE_STORAGE_DOMAIN"] == "azurite:" + svc["azurite"]["ports"][0].split(":")[1]
    assert fi["depends_on"]["init-buckets"]["condition"] == "service_completed_successfully"
    # The token file is a compose secret from a file the user creates: git-ignored, not committed.
    (secret,) = fi["secrets"]
    assert env["FOCUS_INGEST_AUTH_TOKEN_FILE"] == f"/run/secrets/{secret}"
    token_file = (DOCKER / c["secrets"][secret]["file"]).resolve().relative_to(REPO)
    assert not git("ls-files", str(token_file)), f"{token_file} is committed"
    assert git("check-ignore", str(token_file)), f"{token_file} is not git-ignored"
    # Metrics on their own port, published on loopback only (plain HTTP, no auth).
    assert env["FOCUS_INGEST_METRICS_LISTEN"] == f":{METRICS_PORT}"
    assert f"127.0.0.1:{METRICS_PORT}:{METRICS_PORT}" in fi["ports"]
    serves_with(focus_bin, env, tmp_path)


def git(*args) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()


def k8s_docs():
    docs = []
    for p in sorted((DOCKER / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(p.read_text()) if d]
    return {d["kind"]: d for d in docs}


def test_k8s(serve_flags, focus_bin, tmp_path):
    docs = k8s_docs()
    assert "Secret" not in docs, "no Secret with values is committed; the README says how to create it"
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["livenessProbe"]["grpc"]["port"] == PORT and c["readinessProbe"]["grpc"]["port"] == PORT
    assert c["ports"][0]["containerPort"] == PORT
    assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]
    assert {"/tmp"} <= {m["mountPath"] for m in c["volumeMounts"]}
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    assert env["FOCUS_INGEST_LISTEN"] == f":{PORT}"
    check_env(env, serve_flags)
    check_args(c["args"], serve_flags)
    assert c["args"][0] == "serve"
    svc = docs["Service"]["spec"]
    assert svc["ports"][0]["port"] == PORT and svc["selector"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]
    # Shutdown: the grace period covers --shutdown-timeout.
    timeout = int(env["FOCUS_INGEST_SHUTDOWN_TIMEOUT"].removesuffix("s"))
    assert pod["terminationGracePeriodSeconds"] > timeout
    # The token file comes from a Secret volume (the Secret itself is the user's), read-only.
    token_file = Path(env["FOCUS_INGEST_AUTH_TOKEN_FILE"])
    (mount,) = [m for m in c["volumeMounts"] if token_file.parent == Path(m["mountPath"])]
    (vol,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert mount["readOnly"] is True and vol["secret"]["secretName"] and "subPath" not in mount
    assert token_file.name in {"tokens"}  # the key README.md's kubectl create secret uses
    # Metrics on their own port, announced to Prometheus, and the probes stay gRPC on the Flight port
    # (health needs no token: serves_with checks it).
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert env["FOCUS_INGEST_METRICS_LISTEN"] == f":{METRICS_PORT}" and ports["metrics"] == METRICS_PORT
    ann = docs["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert ann == {"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS_PORT), "prometheus.io/path": "/metrics"}
    assert {"grpc", "metrics"} == {p["targetPort"] for p in svc["ports"]}
    serves_with(focus_bin, env, tmp_path)


def test_dockerfile_cmd(serve_flags):
    text = (DOCKER / "Dockerfile").read_text()
    (cmd,) = re.findall(r"^CMD (\[.*\])$", text, re.M)
    args = yaml.safe_load(cmd)
    assert args[0] == "serve"
    check_args(args[1:], serve_flags)
    assert args[args.index("--listen") + 1] == f":{PORT}"
