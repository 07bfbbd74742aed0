"""The Flight server with TLS and bearer tokens, from stock pyarrow.flight: the Basic handshake
(`authenticate_basic_token`) and a bearer header in FlightCallOptions, over `grpc+tls` with the test's
own CA in `tls_root_certs`; a wrong or missing token is FlightUnauthenticatedError. The certificates
are made here, in tmp_path, with `cryptography`."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from focus_helpers import billed_sum, serve_binary

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "testdata" / "focus" / "focus-1.2" / "aws_focus-1.2_costandusage_100rows.csv"
CHUNK = pa.schema([("chunk", pa.binary())])
USER, TOKEN = "ci", "ci-token-0123456789abcdef"
BEARER_ONLY = "bearer-only-token-fedcba9876543210"


def make_certs(d: Path) -> tuple[Path, Path, bytes]:
    """A CA and a server certificate for 127.0.0.1 signed by it; returns cert, key, CA PEM."""
    now = dt.datetime.now(dt.timezone.utc)

    def cert(subject: str, key, issuer: str, issuer_key, ca: bool, san=None):
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    ca_key, srv_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert("test CA", ca_key, "test CA", ca_key, True)
    srv = cert("server", srv_key, "test CA", ca_key, False,
               [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    cert_path, key_path = d / "server.pem", d / "server-key.pem"
    cert_path.write_bytes(srv.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(srv_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return cert_path, key_path, ca.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def secure(focus_bin, tmp_path):
    """`focus-ingest serve` with TLS and a token file; yields (address, CA PEM)."""
    cert, key, ca = make_certs(tmp_path)
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# test tokens\n{USER}:{TOKEN}\n{BEARER_ONLY}\n")
    with serve_binary(focus_bin, tmp_path / "lake", "--tls-cert", str(cert), "--tls-key", str(key),
                      "--auth-token-file", str(tokens), scheme="grpc+tls", tls_root_certs=ca,
                      ready_options=bearer(TOKEN)) as (addr, lines):
        yield addr, ca
        assert TOKEN not in "".join(lines) and BEARER_ONLY not in "".join(lines), "a token is in the log"


def bearer(token: str) -> flight.FlightCallOptions:
    return flight.FlightCallOptions(headers=[(b"authorization", b"Bearer " + token.encode())])


def test_basic_handshake_then_put_and_get(secure):
    addr, ca = secure
    client = flight.connect(f"grpc+tls://{addr}", tls_root_certs=ca)
    header = client.authenticate_basic_token(USER.encode(), TOKEN.encode())
    assert header == (b"authorization", b"Bearer " + TOKEN.encode())
    options = flight.FlightCallOptions(headers=[header])

    cmd = {"source": "aws-2026-05.csv"}
    writer, reader = client.do_put(flight.FlightDescriptor.for_command(json.dumps(cmd)), CHUNK, options=options)
    writer.write_batch(pa.record_batch([pa.array([SAMPLE.read_bytes()], pa.binary())], schema=CHUNK))
    writer.done_writing()
    summary = None
    while (msg := reader.read()) is not None:
        summary = json.loads(msg.to_pybytes())
    writer.close()
    assert summary["status"] == "committed" and summary["rows"]["costs_raw"] == 100

    ticket = {"dataset": "costs_raw", "columns": ["BilledCost"]}
    table = client.do_get(flight.Ticket(json.dumps(ticket)), options=options).read_all()
    got = sum((v for v in table.column("BilledCost").to_pylist() if v is not None), Decimal(0))
    assert table.num_rows == 100 and got == billed_sum(SAMPLE)
    client.close()


def test_bearer_header(secure):
    addr, ca = secure
    with flight.connect(f"grpc+tls://{addr}", tls_root_certs=ca) as client:
        names = [f.descriptor.path[0].decode() for f in client.list_flights(options=bearer(BEARER_ONLY))]
        assert names == ["costs_raw", "tags_index"]
        info = client.get_flight_info(flight.FlightDescriptor.for_path("costs_raw"), options=bearer(BEARER_ONLY))
        assert info.total_records == 0
        schema = client.get_schema(flight.FlightDescriptor.for_path("tags_index"), options=bearer(BEARER_ONLY))
        assert "tag_key" in schema.schema.names


def calls(client: flight.FlightClient, options: flight.FlightCallOptions):
    """Every RPC a client makes but get_schema (see test_unauthenticated), each as a thunk."""
    desc = flight.FlightDescriptor.for_path("costs_raw")
    ticket = flight.Ticket(json.dumps({"dataset": "costs_raw"}))

    def put():
        writer, _ = client.do_put(flight.FlightDescriptor.for_command('{"source": "x.csv"}'), CHUNK, options=options)
        writer.write_batch(pa.record_batch([pa.array([b"ChargePeriodStart\n"], pa.binary())], schema=CHUNK))
        writer.close()
    return {
        "list_flights": lambda: list(client.list_flights(options=options)),
        "get_flight_info": lambda: client.get_flight_info(desc, options=options),
        "do_get": lambda: client.do_get(ticket, options=options).read_all(),
        "do_put": put,
        "do_action": lambda: list(client.do_action(flight.Action("stats", b""), options=options)),
        "list_actions": lambda: list(client.list_actions(options=options)),
    }


@pytest.mark.parametrize("options", [flight.FlightCallOptions(), bearer("not-a-valid-token-000000"),
                                     bearer(TOKEN[:-1])], ids=["no token", "wrong token", "token prefix"])
def test_unauthenticated(secure, options):
    addr, ca = secure
    with flight.connect(f"grpc+tls://{addr}", tls_root_certs=ca) as client:
        for name, call in calls(client, options).items():
            with pytest.raises(flight.FlightUnauthenticatedError):
                call()
                pytest.fail(f"{name} succeeded")
        # pyarrow 26's get_schema raises a plain OSError for every Flight error (check_status, not
        # check_flight_status); the status it carries is still Unauthenticated.
        with pytest.raises(OSError, match="unauthenticated error"):
            client.get_schema(flight.FlightDescriptor.for_path("costs_raw"), options=options)


def test_basic_handshake_refused(secure):
    addr, ca = secure
    with flight.connect(f"grpc+tls://{addr}", tls_root_certs=ca) as client:
        for user, password in [(USER, "wrong-password-0000000"), ("nobody", TOKEN), ("any", BEARER_ONLY)]:
            with pytest.raises(flight.FlightUnauthenticatedError):
                client.authenticate_basic_token(user.encode(), password.encode())


def test_untrusted_server_certificate(secure):
    addr, _ = secure
    with flight.connect(f"grpc+tls://{addr}") as client:  # the system roots do not know the test CA
        with pytest.raises(flight.FlightUnavailableError):
            list(client.list_actions(options=bearer(TOKEN)))
