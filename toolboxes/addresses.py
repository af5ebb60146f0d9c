"""Which network addresses a fetch made for the model may reach: public ones only.

A URL's host is resolved first (numeric forms included: ``2130706433``,
``0177.0.0.1`` and ``0x7f.1`` all resolve to 127.0.0.1), and every address it
resolves to is checked here, so a name pointing at an internal address is
caught as surely as the address itself. IPv6 addresses that carry an IPv4
address (IPv4-mapped, 6to4, Teredo, NAT64) are judged by that address too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

__all__ = ["IPAddress", "blocked_reason", "resolve"]

IPAddress = IPv4Address | IPv6Address

#: Instance metadata services (AWS, GCP, Azure, Alibaba, AWS ECS): named in refusals.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
_NAT64 = (IPv6Network("64:ff9b::/96"), IPv6Network("64:ff9b:1::/48"))
_SHARED = IPv4Network("100.64.0.0/10")  # carrier-grade NAT, not reachable publicly


def blocked_reason(address: IPAddress) -> str | None:
    """Why a fetch may not reach ``address`` ("a loopback address", ...), or None if public."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, IPv6Address):
        for embedded in _embedded_ipv4(address):
            reason = blocked_reason(embedded)
            if reason is not None:
                return f"{reason} (the IPv4 address {embedded} inside {address})"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, IPv4Address) and address in _SHARED, "a shared (CGNAT) address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (isinstance(address, IPv6Address) and address.is_site_local, "a site-local address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _embedded_ipv4(address: IPv6Address) -> list[IPv4Address]:
    found: list[IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if any(address in network for network in _NAT64):
        found.append(IPv4Address(int(address) & 0xFFFFFFFF))
    return found


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (as the operating system would connect to it)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses
