"""The `webSearch` capability: `web_search {query}` and `fetch_url {url}`.

`web_search` asks the configured provider (`runtime/capabilities/search_providers.py`: SearXNG,
Brave or Tavily) and answers `{results: [{title, url, snippet}]}`; each result is also a
`source-url` chunk of the stream (`runtime/attachments`). `fetch_url` reads one page through the
outbound guard (`runtime/outbound.py`): private addresses are refused unless the operator allows
them, every redirect hop is checked the same way (at most `MAX_REDIRECTS`), the body is read to
at most `fetch_max_bytes` within `fetch_timeout` seconds, and HTML comes back as readable text
(scripts, styles and other non-content removed, then Markdown), cut to `fetch_max_chars`.
Failures are `ToolFailed`: the model sees them and the turn goes on.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urljoin

import httpx
from pydantic_ai import RunContext, Tool
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.native_tools import WebSearchTool
from pydantic_ai.toolsets import FunctionToolset

from ...schemas.capabilities import Capability
from ...settings import Settings
from ..attachments import url_source, with_attachments
from ..context import ToolSource, TurnContext
from ..outbound import OutboundRefused, allow_list, check_url, refusal_of
from .search_providers import SearchFailed, provider_for

__all__ = ["FETCH_TOOL", "MAX_REDIRECTS", "SEARCH_TOOL", "fetch_readable", "web_search"]

SEARCH_TOOL = "web_search"
FETCH_TOOL = "fetch_url"
MAX_REDIRECTS = 5
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml", "application/ld+json")
_NOT_CONTENT = ("script", "style", "noscript", "template", "iframe", "svg", "canvas", "object", "embed", "head")

SEARCH_SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to search the web for."}},
    "required": ["query"],
    "additionalProperties": False,
}
FETCH_SCHEMA = {
    "type": "object",
    "properties": {"url": {"type": "string", "description": "An http(s) URL to read."}},
    "required": ["url"],
    "additionalProperties": False,
}


def readable_text(body: bytes, content_type: str, charset: str | None) -> str:
    """A page as text a model can read: HTML without its non-content elements, as Markdown."""
    if "html" in content_type:
        from bs4 import BeautifulSoup  # the HTML stack loads when a page is first read
        from markdownify import markdownify

        soup = BeautifulSoup(body, "html.parser")
        for element in soup(_NOT_CONTENT):
            element.decompose()
        text = markdownify(str(soup), heading_style="ATX", strip=["img"])
    else:
        text = body.decode(charset or "utf-8", "replace")
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:  # runs of blank lines become one
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


async def fetch_readable(http: httpx.AsyncClient, settings: Settings, url: str) -> dict[str, Any]:
    """`{url, title, contentType, text, truncated}` of the page at `url` (after redirects)."""
    allow = allow_list(settings)
    try:
        async with asyncio.timeout(settings.fetch_timeout):
            for _ in range(MAX_REDIRECTS + 1):
                await check_url(url, allow)  # a clear refusal; the guarded client checks again when it connects
                request = http.build_request("GET", url, headers={"Accept": "text/html, text/*;q=0.9, */*;q=0.5"})
                response = await http.send(request, stream=True, follow_redirects=False)
                try:
                    if response.is_redirect and (location := response.headers.get("location")):
                        url = urljoin(url, location)
                        continue
                    if response.status_code >= 400:
                        raise ToolFailed(f"{url} answered HTTP {response.status_code}")
                    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    if content_type and not content_type.startswith(_TEXT_TYPES):
                        raise ToolFailed(f"{url} is not a text page ({content_type}); only text and HTML are read")
                    body, truncated = await _read_capped(response, settings.fetch_max_bytes)
                    charset = response.charset_encoding
                finally:
                    await response.aclose()
                break
            else:
                raise ToolFailed(f"more than {MAX_REDIRECTS} redirects from the URL")
    except TimeoutError:
        raise ToolFailed(f"reading {url} took more than {settings.fetch_timeout:g} seconds") from None
    except OutboundRefused as exc:
        raise ToolFailed(str(exc)) from None
    except httpx.HTTPError as exc:
        if refused := refusal_of(exc):
            raise ToolFailed(str(refused)) from None
        raise ToolFailed(f"could not read {url}: {type(exc).__name__}: {exc}") from None
    text = await asyncio.to_thread(readable_text, body, content_type or "text/html", charset)
    title = _title(body) if "html" in (content_type or "text/html") else None
    limit = settings.fetch_max_chars
    if len(text) > limit:
        text, truncated = text[:limit], True
    return {"url": url, "title": title, "contentType": content_type or None, "text": text, "truncated": truncated}


def _title(body: bytes) -> str | None:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body[:200_000], "html.parser")
    return soup.title.get_text(strip=True) if soup.title and soup.title.string else None


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > cap:
            return bytes(body[:cap]), True
    return bytes(body), False


def _fetch_tool(ctx: TurnContext) -> Tool[Any]:
    async def fetch(run: RunContext[Any], url: str) -> Any:
        page = await fetch_readable(ctx.http, ctx.settings, url)
        return with_attachments(page, sources=[url_source(page["url"], page["title"])])

    return Tool.from_schema(
        fetch,
        name=FETCH_TOOL,
        description="Read a web page (public addresses only) as text.",
        json_schema=FETCH_SCHEMA,
        takes_ctx=True,
    )


def _native(capability: Capability, ctx: TurnContext) -> ToolSource:
    """The model's own search (pydantic-ai's `WebSearchTool`, run by its provider) and our `fetch_url`;
    the configuration check refused models that cannot search."""
    origin = {"kind": "capability", "slug": capability.slug}
    return ToolSource(
        toolsets=[FunctionToolset([_fetch_tool(ctx)])],
        builtin_tools=[WebSearchTool()],
        # Only what runtime/sources.py cannot know: the native search is not a function tool.
        evaluated={SEARCH_TOOL: {**origin, "name": SEARCH_TOOL, "provider": "native"}},
    )


async def web_search(capability: Capability, ctx: TurnContext) -> ToolSource:
    settings = ctx.settings
    if settings.web_search_provider == "native":
        return _native(capability, ctx)
    provider = provider_for(settings)
    if provider is None:  # the configuration check refuses this before the turn is stored
        message = "no web search provider is configured"
        return ToolSource(errors=[{"name": capability.slug, "kind": "capability", "errorMessage": message}])
    limit = settings.web_search_max_results

    async def search(run: RunContext[Any], query: str) -> Any:
        try:
            results = await provider.search(ctx.http, query, limit)
        except SearchFailed as exc:
            raise ToolFailed(str(exc)) from None
        except httpx.HTTPError as exc:
            if refused := refusal_of(exc):
                raise ToolFailed(f"the search provider cannot be reached: {refused}") from None
            raise ToolFailed(f"the search provider failed: {type(exc).__name__}") from None
        return with_attachments({"results": results}, sources=[url_source(r["url"], r["title"]) for r in results])

    async def fetch(run: RunContext[Any], url: str) -> Any:
        page = await fetch_readable(ctx.http, settings, url)
        return with_attachments(page, sources=[url_source(page["url"], page["title"])])

    tools = [
        Tool.from_schema(
            search,
            name=SEARCH_TOOL,
            description=f"Search the web ({provider.name}). Returns up to {limit} results: title, url, snippet.",
            json_schema=SEARCH_SCHEMA,
            takes_ctx=True,
        ),
        Tool.from_schema(
            fetch,
            name=FETCH_TOOL,
            description="Read a web page (public addresses only) as text.",
            json_schema=FETCH_SCHEMA,
            takes_ctx=True,
        ),
    ]

    # runtime/sources.py records both tools; only the provider is ours to add.
    return ToolSource(
        toolsets=[FunctionToolset(tools)],
        evaluated={
            SEARCH_TOOL: {"kind": "capability", "name": SEARCH_TOOL, "slug": capability.slug, "provider": provider.name}
        },
    )
