"""The website source's SSRF guard: only the hosts a source names, and no private addresses.

Checked before every request, after DNS resolution and again for every redirect hop.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class Refused(Exception):
    """A URL the crawler must not contact; the message says why."""


def host_of(url: str) -> str:
    """The lower-case host name of ``url`` ('' when it has none)."""
    return (urlsplit(url).hostname or "").lower()


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
                or ip.is_unspecified)


def check_peer(address: str | None, allow_private: bool) -> None:
    """Raise ``Refused`` if the address actually connected to is private (DNS changed since ``check``)."""
    if not allow_private and address is not None and _blocked(address):
        raise Refused(f"connected to {address}, a private, loopback or link-local address")


def check(url: str, hosts: frozenset[str], allow_private: bool) -> None:
    """Raise ``Refused`` unless ``url`` is http(s) on an allowed host resolving to allowed addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused(f"not http(s): {url[:120]}")
    host = (parts.hostname or "").lower()
    if host not in hosts:
        raise Refused(f"host {host!r} is not one of the source's hosts")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise Refused(f"cannot resolve {host!r}: {exc}") from exc
    for info in infos:
        address = str(info[4][0])
        if _blocked(address):
            raise Refused(f"{host!r} resolves to {address}, a private, loopback or link-local address "
                          "(set allow_private on the source to crawl it)")
