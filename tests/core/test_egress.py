"""The outbound-HTTP policy: what a tenant's address may resolve to, pinning, no redirects."""

from __future__ import annotations

import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core import egress
from tests.support.fake_admin import Canned

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "fec0::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2001:0:7f00:1::1",  # Teredo
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused_after_real_resolution(address: str) -> None:
    assert egress.refusal(ipaddress.ip_address(address)) is not None
    with pytest.raises(egress.EgressRefused, match="resolves to"):
        egress.resolve_public(address, 443)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert egress.refusal(ipaddress.ip_address(address)) is None
    assert egress.resolve_public(address, 443) == address


def test_localhost_is_refused() -> None:
    with pytest.raises(egress.EgressRefused, match="loopback"):
        egress.resolve_public("localhost", 80)


def test_the_public_session_never_reaches_an_internal_service() -> None:
    with Canned(lambda path: (200, {}, [b"internal secret"])) as internal:
        for url in (internal.url, internal.url.replace("127.0.0.1", "localhost")):
            with pytest.raises(egress.EgressRefused):
                egress.public_session().get(url, timeout=5)
        assert internal.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name is resolved once, by the policy; urllib3 never resolves it again (no rebinding).

    `.invalid` never resolves (RFC 6761), so the request can only succeed by connecting to the
    pinned address; the server still sees the name in the Host header.
    """
    checked: list[str] = []

    def pinned(host: str, port: int) -> str:
        checked.append(host)
        return "127.0.0.1"

    monkeypatch.setattr(egress, "resolve_public", pinned)
    with Canned(lambda path: (200, {}, [b"ok"])) as server:
        port = server.url.rsplit(":", 1)[1]
        response = egress.public_session().get(f"http://rebind.invalid:{port}/x", timeout=5)
        seen = server.requests
    assert response.text == "ok" and checked == ["rebind.invalid"] and seen == ["GET /x"]
    assert response.request.headers["Host"] == f"rebind.invalid:{port}"


@pytest.mark.parametrize("make", [egress.public_session, egress.trusted_session])
def test_no_session_follows_a_redirect(make: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(egress, "resolve_public", lambda host, port: "127.0.0.1")
    with Canned(lambda path: (200, {}, [b"internal secret"])) as internal:
        with Canned(lambda path: (302, {"Location": f"{internal.url}/x"}, [])) as redirector:
            session = make()  # type: ignore[operator]
            for method in ("get", "post"):
                response = getattr(session, method)(redirector.url, timeout=5)
                assert response.status_code == 302
            assert requests.get(redirector.url, timeout=5).status_code == 200  # the control
        assert internal.requests == ["GET /x"]  # only the control followed it


@pytest.mark.parametrize(
    "url",
    ["http://shop.myshopify.com", "https://user:pw@shop.myshopify.com", "ftp://x", "https://"],
)
def test_require_https(url: str) -> None:
    with pytest.raises(egress.EgressRefused):
        egress.require_https(url)
    egress.require_https("https://shop.myshopify.com/admin")


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for `name` (and nothing else) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_a_pinned_https_connection_still_verifies_the_hostname(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connected to the checked IP, TLS names the host (SNI) and checks its certificate: a
    certificate for the name passes, the same server reached under another name fails."""
    cert_file, key_file = self_signed(tmp_path, "shop.pinned.invalid")
    monkeypatch.setattr(egress, "resolve_public", lambda host, port: "127.0.0.1")
    server_names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)

    def sni(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, ctx: ssl.SSLContext) -> None:
        server_names.append(name)

    context.sni_callback = sni
    with Canned(lambda path: (200, {}, [b"over tls"])) as server:
        assert server.server is not None
        server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
        port = server.url.rsplit(":", 1)[1]
        session = egress.public_session()
        good = session.get(f"https://shop.pinned.invalid:{port}/", timeout=5, verify=str(cert_file))
        assert good.text == "over tls" and server_names == ["shop.pinned.invalid"]
        with pytest.raises(requests.exceptions.SSLError):
            session.get(f"https://other.pinned.invalid:{port}/", timeout=5, verify=str(cert_file))
