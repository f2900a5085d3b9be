"""The outbound guard: no request leaves for loopback, link-local or private addresses unless the
operator allows it (`CARGOHOLD_ALLOW_PRIVATE_URLS`).

The check runs where the connection is made: a guarded client's network backend resolves the host
itself, checks *every* address it resolves to, and connects to a checked address. A name that
resolves to a public address when a URL is validated and to 127.0.0.1 when it is used (DNS
rebinding) is refused all the same. TLS still speaks to the hostname (SNI, certificate, `Host`).

    client = guarded_client(AllowList.parse(settings.allow_private_urls), timeout=30)
    try:
        await client.get(url)
    except httpx.ConnectError as exc:
        if refused := refusal_of(exc): ...   # the clear message: str(refused)
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio
import httpcore
import httpcore2
import httpx
import httpx2

__all__ = [
    "AllowList",
    "IPAddress",
    "OutboundRefused",
    "allow_list",
    "check_url",
    "guarded_client",
    "guarded_client2",
    "refusal_of",
    "resolve",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
OnRefused = Callable[["OutboundRefused"], None]
RefusalKind = Literal["private", "unresolved", "invalid"]

RESOLVE_TIMEOUT = 5.0
"""Seconds a name may take to resolve: a host with no DNS must fail fast, not hang a turn."""
HINT = "allow it with CARGOHOLD_ALLOW_PRIVATE_URLS"

# Ranges `ipaddress` does not flag but that no public service lives in.
_SPECIAL: tuple[tuple[IPNetwork, str], ...] = (
    (ipaddress.ip_network("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (ipaddress.ip_network("192.0.0.0/24"), "a reserved address"),
    (ipaddress.ip_network("198.18.0.0/15"), "a reserved address"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(Exception):
    """An outbound request to an address the operator has not allowed, or to a URL that cannot
    be used (bad scheme, no host, a name that does not resolve). `str()` is the clear message."""

    def __init__(
        self, message: str, *, url: str | None = None, host: str | None = None, kind: RefusalKind = "private"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.host = host
        self.kind: RefusalKind = kind
        """`private`: an address the operator did not allow; `unresolved`: the name does not resolve;
        `invalid`: not an http(s) URL with a host."""


def _classify(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and (why := _classify(embedded)):
            return f"an IPv6 address embedding {embedded} ({why})"
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"), "a unique-local address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "a site-local address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
    )
    for flagged, why in checks:
        if flagged:
            return why
    for network, why in _SPECIAL:
        if ip.version == network.version and ip in network:
            return why
    return None if ip.is_global else "a non-public address"


@dataclass(frozen=True)
class AllowList:
    """What the operator allows beyond public addresses: host names, CIDR ranges, or everything."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()
    everything: bool = False
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> AllowList:
        """`"127.0.0.0/8, mcp.internal, ::1"`; `"*"` allows any address; `""` allows none."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        everything = False
        for raw in (text or "").split(","):
            item = raw.strip().lower()
            if not item:
                continue
            if item == "*":
                everything = True
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(frozenset(hosts), tuple(networks), everything, text or "")

    def allows(self, host: str, ip: IPAddress) -> bool:
        """Whether a connection to `ip` (which `host` resolved to) may be made."""
        if self.everything or _classify(ip) is None:
            return True
        if host.lower().rstrip(".").strip("[]") in self.hosts:
            return True
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            candidates.append(ip.ipv4_mapped)
        return any(c.version == n.version and c in n for c in candidates for n in self.networks)


def _refusal(host: str, ip: IPAddress, url: str | None) -> OutboundRefused:
    why = _classify(ip) or "a non-public address"
    origin = f" (from {url})" if url else f" (host {host})" if host != str(ip) else ""
    return OutboundRefused(f"refused to connect to {ip}{origin}: {why}; {HINT}", url=url, host=host)


async def resolve(host: str, port: int, *, within: float = RESOLVE_TIMEOUT) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself). Raises OutboundRefused
    when the name does not resolve within `within` seconds."""
    bare = host.strip("[]")
    try:
        return [ipaddress.ip_address(bare)]
    except ValueError:
        pass
    try:
        with anyio.fail_after(within):
            infos = await anyio.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise OutboundRefused(
            f"could not resolve {host}: no answer within {within:g}s", host=host, kind="unresolved"
        ) from None
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise OutboundRefused(f"could not resolve {host}: {reason}", host=host, kind="unresolved") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise OutboundRefused(f"could not resolve {host}: no address", host=host, kind="unresolved")
    return addresses


async def checked_addresses(host: str, port: int, allow: AllowList, *, url: str | None = None) -> list[IPAddress]:
    """Resolve `host` and check every address: one that is not allowed refuses the whole host."""
    addresses = await resolve(host, port)
    for ip in addresses:
        if not allow.allows(host, ip):
            raise _refusal(host, ip, url)
    return addresses


async def check_url(url: str, allow: AllowList) -> None:
    """Early validation of a URL an outbound request will use. Raises OutboundRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"invalid URL {url!r}: {exc}", url=url, kind="invalid") from None
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused(f"invalid URL {url!r}: the scheme must be http or https", url=url, kind="invalid")
    if not parts.hostname:
        raise OutboundRefused(f"invalid URL {url!r}: no host", url=url, kind="invalid")
    await checked_addresses(parts.hostname, port or (443 if parts.scheme == "https" else 80), allow, url=url)


def refusal_of(exc: BaseException | None) -> OutboundRefused | None:
    """The OutboundRefused behind `exc` (itself, a cause, a context, or inside an exception group)."""
    seen: set[int] = set()

    def walk(e: BaseException | None) -> Iterator[BaseException]:
        while e is not None and id(e) not in seen:
            seen.add(id(e))
            yield e
            if isinstance(e, BaseExceptionGroup):
                for inner in e.exceptions:
                    yield from walk(inner)
            e = e.__cause__ or e.__context__

    return next((e for e in walk(exc) if isinstance(e, OutboundRefused)), None)


class _GuardedBackend:
    """A network backend (httpcore or httpcore2) that connects only to checked addresses."""

    def __init__(
        self, allow: AllowList, inner: Any, connect_error: type[Exception], on_refused: OnRefused | None = None
    ) -> None:
        self._allow = allow
        self._inner = inner
        self._connect_error = connect_error
        self._on_refused = on_refused

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        try:
            addresses = await checked_addresses(host, port, self._allow)
        except OutboundRefused as refused:
            if self._on_refused is not None:
                self._on_refused(refused)
            raise self._connect_error(str(refused)) from refused
        last: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except Exception as exc:  # try the next address; the last error is raised
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: Any = None, socket_options: Any = None) -> Any:  # noqa: ASYNC109
        raise self._connect_error("unix sockets are not allowed for outbound requests")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _install(pool: Any, backend: _GuardedBackend) -> None:
    # httpx builds its connection pool itself and offers no `network_backend` argument: the
    # backend is swapped on the pool it built (same settings: TLS context, limits, http1/2).
    if not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpcore version has no network backend to guard")
    pool._network_backend = backend


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, allow: AllowList, on_refused: OnRefused | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _install(self._pool, _GuardedBackend(allow, httpcore.AnyIOBackend(), httpcore.ConnectError, on_refused))


class _GuardedTransport2(httpx2.AsyncHTTPTransport):
    def __init__(self, allow: AllowList, on_refused: OnRefused | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _install(self._pool, _GuardedBackend(allow, httpcore2.AnyIOBackend(), httpcore2.ConnectError, on_refused))


_TRANSPORT_KEYS = ("verify", "cert", "http1", "http2", "limits")


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    transport = {k: kwargs.pop(k) for k in _TRANSPORT_KEYS if k in kwargs}
    if "transport" in kwargs or "mounts" in kwargs or "proxy" in kwargs:
        raise TypeError("a guarded client makes its own transport: no transport, mounts or proxy")
    return transport, kwargs


def guarded_client(
    allow: AllowList, *, timeout: float | httpx.Timeout, on_refused: OnRefused | None = None, **kwargs: Any
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` whose every connection goes through the guard. No proxy from the
    environment is used (a proxy would resolve the host itself). A refusal raises `httpx.ConnectError`
    (caused by the OutboundRefused: see `refusal_of`); `on_refused` also hears of it, for callers
    whose libraries re-wrap errors and lose the cause."""
    transport_kwargs, kwargs = _split(kwargs)
    transport = _GuardedTransport(allow, on_refused, trust_env=False, **transport_kwargs)
    return httpx.AsyncClient(transport=transport, timeout=timeout, trust_env=False, **kwargs)


def guarded_client2(
    allow: AllowList, *, timeout: float | httpx2.Timeout, on_refused: OnRefused | None = None, **kwargs: Any
) -> httpx2.AsyncClient:
    """The same for `httpx2` (what the MCP SDK and fastmcp speak)."""
    transport_kwargs, kwargs = _split(kwargs)
    transport = _GuardedTransport2(allow, on_refused, trust_env=False, **transport_kwargs)
    return httpx2.AsyncClient(transport=transport, timeout=timeout, trust_env=False, **kwargs)


def allow_list(settings: Any) -> AllowList:
    """The operator's allow list (`settings.allow_private_urls`, env CARGOHOLD_ALLOW_PRIVATE_URLS)."""
    return AllowList.parse(settings.allow_private_urls)
