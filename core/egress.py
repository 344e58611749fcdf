"""Outbound HTTP on a tenant's behalf: where it may go, and how it gets there.

Trust comes from who configured an address. An address an operator configured (the command
line, the environment) is used as given: that is how a fake Admin API on loopback works. Any
other address is derived from tenant data (a shop domain) or reported by a remote service (a
bulk result URL), and goes through `public_session()`: HTTPS only where the caller asks for it,
the host resolved once and refused if any address it resolves to is not public (private,
loopback, link-local, multicast, reserved, unspecified, shared, IPv4 embedded in IPv6), and the
connection made to the address that was checked (the hostname still names the TLS server and
the certificate, and goes in the Host header), so a second DNS answer cannot rebind it. No
session here follows redirects: a 3xx is an answer the caller treats as an error.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from core.errors import CartwheelError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges the standard library does not call private but that reach no public host, or embed
# an IPv4 address that could be private (6to4, NAT64, Teredo, IPv4-compatible).
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",  # carrier-grade NAT: often routes to internal workloads
        "192.0.0.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",
        "::/96",  # IPv4-compatible
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",
        "2001::/32",  # Teredo
        "2002::/16",  # 6to4
        "fec0::/10",  # site-local
    )
)


class EgressRefused(CartwheelError):
    """An outbound request this policy does not allow (the message names why, not the body)."""


def refusal(address: IPAddress) -> str | None:
    """Why `address` may not be contacted on a tenant's behalf, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    if any(address in net for net in _NOT_PUBLIC if net.version == address.version):
        return "a non-public address"
    if not address.is_global:
        return "a non-public address"
    return None


def resolve_public(host: str, port: int) -> str:
    """The address to connect to for `host`, after checking every address it resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise requests.ConnectionError(f"cannot resolve {host}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        reason = refusal(address)
        if reason is not None:
            raise EgressRefused(f"{host} resolves to {reason}")
    if not addresses:
        raise requests.ConnectionError(f"cannot resolve {host}")
    return str(addresses[0])


class PinnedAdapter(HTTPAdapter):
    """Connects to the checked address of a request's host; TLS still verifies the hostname."""

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        params, kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params, pool_kwargs = cast(dict[str, Any], params), cast(dict[str, Any], kwargs)
        host, port, scheme = host_params["host"], host_params["port"], host_params["scheme"]
        default = 443 if scheme == "https" else 80
        named = f"[{host}]" if ":" in host else host
        request.headers["Host"] = named if port in (None, default) else f"{named}:{port}"
        if scheme == "https":
            pool_kwargs["server_hostname"] = host  # SNI
            pool_kwargs["assert_hostname"] = host  # the certificate names the host, not the IP
        pinned = resolve_public(host, port or default)
        host_params["host"] = pinned if ":" not in pinned else f"[{pinned}]"
        return host_params, pool_kwargs


class NoRedirectSession(requests.Session):
    """A session that never follows a redirect and ignores proxy and netrc variables."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)


def public_session() -> requests.Session:
    """A session for addresses nobody trusted: public hosts only, pinned, no redirects."""
    session = NoRedirectSession()
    session.mount("https://", PinnedAdapter())
    session.mount("http://", PinnedAdapter())
    return session


def trusted_session() -> requests.Session:
    """A session for operator-configured addresses: any host, still no redirects."""
    return NoRedirectSession()


def require_https(url: str) -> None:
    """Refuse a URL that is not https://host[...] (no credentials in it)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise EgressRefused("only https:// addresses without credentials are allowed")


def origin(url: str) -> str:
    """scheme://host:port of a URL, normalised, to compare origins."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"
