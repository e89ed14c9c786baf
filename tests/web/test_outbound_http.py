"""The outbound webhook sender connects to the address it checked, with the URL's name for Host and TLS.

Real servers on 127.0.0.1 (plain and TLS, with certificates made here); the names used (``*.example.test``)
do not exist in any DNS, so a request that arrives proves the sender did not look the name up again.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connector.outbound_http import HttpWebhookSender

NAME = "hooks.example.test"


class _Calls:
    def __init__(self, answers: list[list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


@contextmanager
def _server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.append({"path": self.path, "host": self.headers["Host"], "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, got
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _certificates(tmp: Path, name: str) -> tuple[str, ssl.SSLContext]:
    """A CA (its PEM path, for the sender) and a server context whose certificate, for ``name``, it signed."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "connector test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp / f"ca-{name}.pem", tmp / f"{name}.pem", tmp / f"{name}.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return str(ca_path), context


def test_the_sender_connects_to_the_checked_address_without_a_second_lookup():
    with _server() as (port, got):
        resolver = _Calls([["127.0.0.1"]])
        sender = HttpWebhookSender(allow_local=True, resolver=resolver)
        result = sender.post(
            f"http://{NAME}:{port}/hooks/connector?x=1", b'{"a":1}', {"Content-Type": "application/json"}
        )
    assert result.status_code == 204, result
    assert resolver.asked == [NAME]  # one lookup, and the name exists nowhere else: the connect used its answer
    assert got == [{"path": "/hooks/connector?x=1", "host": f"{NAME}:{port}", "body": b'{"a":1}'}]


def test_a_name_that_answers_a_private_address_to_the_check_is_not_connected_to():
    with _server() as (port, got):
        resolver = _Calls([["10.1.2.3"], ["127.0.0.1"]])  # private at the check, then what a rebinder would say
        refused = HttpWebhookSender(allow_local=True, resolver=resolver).post(f"http://{NAME}:{port}/", b"{}", {})
    assert refused.status_code is None and "private" in (refused.error or "")
    assert resolver.asked == [NAME] and got == []


def test_tls_is_checked_against_the_urls_name_not_the_address(tmp_path):
    ca, context = _certificates(tmp_path, NAME)
    with _server(context) as (port, got):
        sender = HttpWebhookSender(allow_local=True, resolver=_Calls([["127.0.0.1"]]), ca_certs=ca)
        ok = sender.post(f"https://{NAME}:{port}/hooks", b"{}", {})
        assert ok.status_code == 204, ok
        assert got[0]["host"] == f"{NAME}:{port}"

        # The same server, reached under another name its certificate does not cover: refused, nothing sent.
        wrong = HttpWebhookSender(allow_local=True, resolver=_Calls([["127.0.0.1"]]), ca_certs=ca).post(
            f"https://other.example.test:{port}/hooks", b"{}", {}
        )
        assert wrong.status_code is None and "TLS" in (wrong.error or "")
        assert len(got) == 1

    # A certificate from an authority the sender does not trust: refused.
    other_ca, _ = _certificates(tmp_path, "someone-else.example.test")
    with _server(context) as (port, got):
        untrusted = HttpWebhookSender(allow_local=True, resolver=_Calls([["127.0.0.1"]]), ca_certs=other_ca)
        assert untrusted.post(f"https://{NAME}:{port}/hooks", b"{}", {}).status_code is None
        assert got == []


def test_the_next_checked_address_is_tried_when_one_refuses_to_connect():
    with _server() as (port, got):
        resolver = _Calls([["127.0.0.2", "127.0.0.1"]])  # nothing listens on 127.0.0.2: refused, then the next
        sender = HttpWebhookSender(allow_local=True, resolver=resolver)
        result = sender.post(f"http://{NAME}:{port}/hooks", b"{}", {})
    assert result.status_code == 204 and len(got) == 1
