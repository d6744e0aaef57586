"""Where outbound calls may go (SPEC §12 continued): the address classification, and URLs
read and refused before any connection. DNS is the outside world here: names other than
numeric forms and `localhost` (from /etc/hosts) get answers from a stand-in resolver, so
no test sends a query anywhere."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from webapp.errors import Invalid
from webapp.outbound.addresses import not_public
from webapp.outbound.destinations import check, destination
from webapp.schedules.webhook import masked

FIELD = "webhook_url"
REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    """{name: [addresses]} the stand-in resolver answers; numeric hosts and localhost go to
    the real resolver (which answers them without a query); any other name fails the test."""
    answers: dict[str, list[str]] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            if not answers[host]:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6,
                     "", (a, port)) for a in answers[host]]
        try:
            return REAL_GETADDRINFO(host, port, *args, flags=socket.AI_NUMERICHOST)
        except socket.gaierror:
            assert host == "localhost", f"a test looked up {host!r} in DNS"
            return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(("address", "words"), [
    ("127.0.0.1", "loopback"), ("127.255.255.254", "loopback"), ("::1", "loopback"),
    ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"), ("169.254.169.254", "metadata"),
    ("fd00:ec2::254", "metadata"), ("169.254.10.1", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"), ("100.64.0.1", "shared address space"),
    ("100.127.255.254", "shared address space"), ("192.0.2.10", "private"),
    ("198.18.0.1", "private"), ("2001:db8::1", "private"),
    # IPv6 carrying an IPv4 address the stack or a gateway would reach.
    ("::ffff:127.0.0.1", "loopback address (127.0.0.1) inside an IPv6"),
    ("::ffff:169.254.169.254", "metadata address (169.254.169.254) inside"),
    ("::ffff:10.1.2.3", "private address (10.1.2.3) inside"),
    ("64:ff9b::7f00:1", "loopback address (127.0.0.1) inside"),
    ("2002:a00:1::1", "private address (10.0.0.1) inside"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback address (127.0.0.1) inside"),
    ("::7f00:1", "reserved"), ("64:ff9b::808:808", "reserved"),
])
def test_addresses_that_are_not_public(address, words):
    reason = not_public(ipaddress.ip_address(address))
    assert reason is not None and words in reason, reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "1.1.1.1",
                                     "2606:4700::1111", "2001:4860:4860::8888"])
def test_public_addresses_pass(address):
    assert not_public(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("url", "address"), [
    ("http://127.0.0.1/hook", "127.0.0.1"), ("http://localhost:8080/hook", "127.0.0.1"),
    ("https://localhost./hook", "127.0.0.1"), ("http://[::1]:9000/", "::1"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://10.1.2.3/", "10.1.2.3"), ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
    # The numeric spellings a C resolver reads as inet_aton does.
    ("http://2130706433/", "127.0.0.1"), ("http://0x7f000001/", "127.0.0.1"),
    ("http://0177.0.0.1/", "127.0.0.1"), ("http://127.1/", "127.0.0.1"),
    ("http://017700000001/", "127.0.0.1"), ("http://0/", "0.0.0.0"),
    ("http://0xa9fea9fe/", "169.254.169.254"), ("http://100.64.1.1/", "100.64.1.1"),
])
def test_urls_reaching_inside_are_refused_naming_the_address(url, address):
    with pytest.raises(Invalid) as refused:
        check(url, FIELD, allow_private=False)
    assert refused.value.details == {"field": FIELD}
    assert f"resolves to {ipaddress.ip_address(address)}," in refused.value.message
    assert "WEBHOOK_ALLOW_PRIVATE=1" in refused.value.message
    assert check(url, FIELD, allow_private=True).port  # the opt-in lets them through


def test_names_resolving_inside_are_refused_and_one_private_address_is_enough(dns):
    dns["127.0.0.1.nip.io"] = ["127.0.0.1"]
    dns["split.example.org"] = ["93.184.215.14", "10.0.0.7"]
    dns["hooks.example.org"] = ["93.184.215.14", "2606:4700::1111"]
    with pytest.raises(Invalid, match=r"'127\.0\.0\.1\.nip\.io' resolves to 127\.0\.0\.1, "
                                      "a loopback address"):
        check("https://127.0.0.1.nip.io/hook", FIELD, allow_private=False)
    with pytest.raises(Invalid, match="resolves to 10.0.0.7, a private address"):
        check("https://split.example.org/hook", FIELD, allow_private=False)
    found = check("https://hooks.example.org/h?token=abc", FIELD, allow_private=False)
    assert found.addresses(allow_private=False) == [
        ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("2606:4700::1111")]


def test_a_host_that_does_not_resolve_is_refused(dns):
    dns["nowhere.example.org"] = []
    with pytest.raises(Invalid, match="'nowhere.example.org' does not resolve"):
        check("https://nowhere.example.org/hook", FIELD, allow_private=True)


@pytest.mark.parametrize("url", ["http://user:secret@hooks.example.org/",
                                 "https://user@hooks.example.org/",
                                 "https://:secret@hooks.example.org/",
                                 "http://user:secret@127.0.0.1/"])
def test_userinfo_is_refused_before_any_lookup_and_not_echoed(url):
    # The stand-in resolver has no answer for hooks.example.org: a lookup would fail the test.
    with pytest.raises(Invalid) as refused:
        check(url, FIELD, allow_private=True)
    assert "user name or password" in refused.value.message
    assert "secret" not in refused.value.message


@pytest.mark.parametrize("url", ["ftp://example.org/hook", "javascript:alert(1)",
                                 "file:///etc/passwd", "http://", "http://exa mple.org/",
                                 "http://host:99999/", "http://a..b/", 42, None,
                                 "https://" + "a" * 2000 + ".org/"])
def test_malformed_urls_are_refused(url):
    with pytest.raises(Invalid, match="must be an http:// or https:// URL"):
        destination(url, FIELD)


def test_what_a_connection_is_given():
    plain = destination("http://Hooks.Example.org/a/b?token=x#frag", FIELD)
    assert (plain.scheme, plain.host, plain.port, plain.target, plain.host_header) == (
        "http", "hooks.example.org", 80, "/a/b?token=x", "hooks.example.org")
    ported = destination("https://[2606:4700::1111]:8443", FIELD)
    assert (ported.host, ported.port, ported.target, ported.host_header) == (
        "2606:4700::1111", 8443, "/", "[2606:4700::1111]:8443")
    assert destination("https://bücher.example/", FIELD).host == "xn--bcher-kva.example"


def test_masked_shows_scheme_and_host_only():
    assert masked("https://hooks.example.org/services/T0/B1/secret?x=1") == \
        "https://hooks.example.org/…"
    assert masked("http://[2606:4700::1111]:8080/token") == "http://[2606:4700::1111]/…"
    assert masked(None) is None
