"""Which IP addresses an outbound call may reach: public ones only.

A URL a user typed must not reach the network the app runs in: loopback, private ranges,
link-local (where clouds answer metadata requests with credentials), multicast,
unspecified, reserved and shared (carrier-grade NAT) space, nor any of those wrapped in an
IPv6 address (IPv4-mapped, NAT64, 6to4, Teredo). The standard library's `ipaddress` knows
the registries; this module only decides which of its answers count as "not public".
"""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Where clouds serve instance credentials (AWS, GCP, Azure, ... and AWS over IPv6). They
# are link-local or private anyway; named so a refusal says what was at stake.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
# RFC 6598: neither private nor global in `ipaddress`, and inside a provider's network.
SHARED = ipaddress.ip_network("100.64.0.0/10")
# RFC 6052's well-known prefix: a NAT64 gateway turns 64:ff9b::a.b.c.d into a.b.c.d.
NAT64 = ipaddress.ip_network("64:ff9b::/96")

# (attribute of ipaddress's classes, how a refusal names it), first match wins.
KINDS = (("is_unspecified", "an unspecified address"), ("is_loopback", "a loopback address"),
         ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
         ("is_reserved", "a reserved address"), ("is_private", "a private address"))


def not_public(address: IPAddress) -> str | None:
    """Why `address` is not public (e.g. "a loopback address"), or None when it is."""
    if address in METADATA:
        return "the cloud metadata address"
    wrapped = embedded_ipv4(address)
    if wrapped is not None and (reason := not_public(wrapped)):
        return f"{reason} ({wrapped}) inside an IPv6 address"
    for attribute, reason in KINDS:
        if getattr(address, attribute):
            return reason
    if address in SHARED:
        return "in the shared address space 100.64.0.0/10"
    if not address.is_global:
        return "not a public address"
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to a gateway or the local stack, if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # (server, client): packets go to the client
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the resolver's order, without repeats.

    The C resolver also reads numeric forms (`2130706433`, `0x7f000001`, `0177.0.0.1`,
    `127.1`) as inet_aton does, so those are checked as the address they stand for.

    Raises:
        OSError (socket.gaierror): the name does not resolve.
    """
    found: list[IPAddress] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(sockaddr[0])
        if address not in found:
            found.append(address)
    return found
