"""The outbound guard: allow lists, address classes, early URL checks, and guarded clients over real
sockets on 127.0.0.1 (refused unless allowed, checked at connect time, Host still the hostname)."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import httpx2
import pytest

from cargohold.runtime import outbound
from cargohold.runtime.outbound import (
    AllowList,
    OutboundRefused,
    check_url,
    guarded_client,
    guarded_client2,
    refusal_of,
    resolve,
)

NONE = AllowList.parse("")
LOOPBACK = AllowList.parse("127.0.0.0/8")


def ip(text: str) -> Any:
    return ipaddress.ip_address(text)


class TestAllowList:
    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "240.0.0.1",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2002:7f00:1::",  # 6to4 of 127.0.0.1
        ],
    )
    def test_private_addresses_are_refused_by_default(self, address: str) -> None:
        assert not NONE.allows("example.com", ip(address))

    @pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
    def test_public_addresses_are_allowed(self, address: str) -> None:
        assert NONE.allows("example.com", ip(address))

    def test_cidr_ranges(self) -> None:
        allow = AllowList.parse(" 127.0.0.0/8 , 10.2.0.0/16,fd00::/8 ")
        assert allow.allows("x", ip("127.0.0.1")) and allow.allows("x", ip("10.2.3.4"))
        assert allow.allows("x", ip("fd00::5"))
        assert not allow.allows("x", ip("10.3.0.1")) and not allow.allows("x", ip("192.168.0.1"))
        assert not allow.allows("x", ip("::1"))

    def test_ipv4_mapped_addresses_follow_their_ipv4_range(self) -> None:
        assert LOOPBACK.allows("x", ip("::ffff:127.0.0.1"))
        assert not LOOPBACK.allows("x", ip("::ffff:10.0.0.1"))

    def test_ipv6_loopback_needs_its_own_entry(self) -> None:
        assert not LOOPBACK.allows("x", ip("::1"))
        assert AllowList.parse("::1").allows("x", ip("::1"))
        assert AllowList.parse("[::1]").allows("x", ip("::1"))

    def test_hosts(self) -> None:
        allow = AllowList.parse("mcp.internal, LocalHost.")
        assert allow.allows("mcp.internal", ip("10.0.0.7"))
        assert allow.allows("localhost", ip("127.0.0.1"))
        assert not allow.allows("other.internal", ip("10.0.0.7"))

    def test_star_allows_everything(self) -> None:
        allow = AllowList.parse("*")
        assert all(allow.allows("x", ip(a)) for a in ("127.0.0.1", "::1", "169.254.169.254", "::ffff:10.0.0.1"))


class TestCheckUrl:
    async def test_a_name_resolving_to_loopback_is_refused(self) -> None:
        with pytest.raises(OutboundRefused) as caught:
            await check_url("http://localhost:9/x", NONE)
        assert str(caught.value) == (
            "refused to connect to 127.0.0.1 (from http://localhost:9/x): a loopback address; "
            "allow it with CARGOHOLD_ALLOW_PRIVATE_URLS"
        )

    @pytest.mark.parametrize(
        ("url", "words"),
        [
            ("http://[::1]:8080/", "::1"),
            ("http://[::ffff:127.0.0.1]/", "embedding 127.0.0.1"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("http://10.0.0.1/mcp", "private"),
        ],
    )
    async def test_private_literals_are_refused(self, url: str, words: str) -> None:
        with pytest.raises(OutboundRefused, match="CARGOHOLD_ALLOW_PRIVATE_URLS") as caught:
            await check_url(url, NONE)
        assert words in str(caught.value)

    async def test_allowed_when_listed(self) -> None:
        await check_url("http://localhost:9/x", LOOPBACK)
        await check_url("http://localhost:9/x", AllowList.parse("localhost"))
        await check_url("http://[::1]:9/x", AllowList.parse("*"))

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("ftp://example.com/x", "the scheme must be http or https"),
            ("file:///etc/passwd", "the scheme must be http or https"),
            ("http:///nohost", "no host"),
            ("http://example.com:99999/", "invalid URL"),
        ],
    )
    async def test_unusable_urls(self, url: str, message: str) -> None:
        with pytest.raises(OutboundRefused, match=message):
            await check_url(url, AllowList.parse("*"))

    async def test_a_name_that_does_not_resolve_fails_fast(self) -> None:
        started = time.monotonic()
        with pytest.raises(OutboundRefused, match=r"could not resolve no-such-host\.invalid") as caught:
            await check_url("https://no-such-host.invalid/mcp", NONE)
        assert caught.value.kind == "unresolved"
        assert time.monotonic() - started < outbound.RESOLVE_TIMEOUT + 1

    async def test_a_resolver_that_hangs_is_cut_short(self, monkeypatch: pytest.MonkeyPatch) -> None:
        async def hang(*args: Any, **kwargs: Any) -> Any:
            await asyncio.Event().wait()

        monkeypatch.setattr(outbound.anyio, "getaddrinfo", hang)
        started = time.monotonic()
        with pytest.raises(OutboundRefused, match=r"no answer within 0.2s"):
            await resolve("slow.example", 443, within=0.2)
        assert time.monotonic() - started < 2

    async def test_every_address_is_checked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        async def two(host: str, port: int, **kwargs: Any) -> list[Any]:
            return [(2, 1, 6, "", ("8.8.8.8", port)), (2, 1, 6, "", ("127.0.0.1", port))]

        monkeypatch.setattr(outbound.anyio, "getaddrinfo", two)
        with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1"):
            await check_url("https://mixed.example/", NONE)


@pytest.fixture
async def echo_server() -> AsyncIterator[int]:
    """A tiny HTTP server on 127.0.0.1 that answers with the Host header it received."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        host = next(line.split(":", 1)[1].strip() for line in head.split("\r\n") if line.lower().startswith("host:"))
        body = host.encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


class TestGuardedClients:
    async def test_refused_at_connect_time_with_a_clear_message(self, echo_server: int) -> None:
        async with guarded_client(NONE, timeout=5) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get(f"http://localhost:{echo_server}/x")
        refused = refusal_of(caught.value)
        assert refused is not None
        assert str(refused).startswith("refused to connect to 127.0.0.1 (host localhost): a loopback address")
        assert "CARGOHOLD_ALLOW_PRIVATE_URLS" in str(caught.value)

    async def test_allowed_keeps_the_hostname_in_host(self, echo_server: int) -> None:
        async with guarded_client(LOOPBACK, timeout=5) as client:
            response = await client.get(f"http://localhost:{echo_server}/x")
        assert response.status_code == 200 and response.text == f"localhost:{echo_server}"

    async def test_httpx2_client(self, echo_server: int) -> None:
        heard: list[OutboundRefused] = []
        async with guarded_client2(NONE, timeout=5, on_refused=heard.append) as client:
            with pytest.raises(httpx2.ConnectError, match="a loopback address"):
                await client.get(f"http://127.0.0.1:{echo_server}/")
        assert len(heard) == 1 and "127.0.0.1" in str(heard[0])
        async with guarded_client2(LOOPBACK, timeout=5) as client:
            assert (await client.get(f"http://127.0.0.1:{echo_server}/")).text == f"127.0.0.1:{echo_server}"

    async def test_dns_rebinding_is_caught_at_connect(self, echo_server: int, monkeypatch: pytest.MonkeyPatch) -> None:
        """The name resolves to a public address when checked, and to 127.0.0.1 when connecting."""
        answers = iter(["93.184.216.34", "127.0.0.1"])

        async def rebinding(host: str, port: int, **kwargs: Any) -> list[Any]:
            return [(2, 1, 6, "", (next(answers), port))]

        monkeypatch.setattr(outbound.anyio, "getaddrinfo", rebinding)
        await check_url(f"http://rebind.example:{echo_server}/", NONE)  # looks public
        async with guarded_client(NONE, timeout=5) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get(f"http://rebind.example:{echo_server}/")
        assert "refused to connect to 127.0.0.1 (host rebind.example)" in str(refusal_of(caught.value))

    async def test_no_transport_override(self) -> None:
        with pytest.raises(TypeError, match="guarded client"):
            guarded_client(NONE, timeout=1, transport=httpx.AsyncHTTPTransport())

    def test_refusal_of_walks_groups_and_causes(self) -> None:
        refused = OutboundRefused("no")
        try:
            try:
                raise refused
            except OutboundRefused as exc:
                raise RuntimeError("wrapped") from exc
        except RuntimeError as wrapped:
            group = ExceptionGroup("g", [ValueError("x"), wrapped])
        assert refusal_of(group) is refused
        assert refusal_of(ValueError("plain")) is None
