"""Web search providers for the `webSearch` capability, each answering `[{title, url, snippet}]`.

SearXNG (`CARGOHOLD_SEARXNG_URL`, its JSON API), Brave Search (`CARGOHOLD_BRAVE_API_KEY`) and
Tavily (`CARGOHOLD_TAVILY_API_KEY`); their API bases are `CARGOHOLD_BRAVE_URL` and
`CARGOHOLD_TAVILY_URL` (the public APIs by default). Requests go through the turn's guarded client, so a SearXNG
on a private address needs `CARGOHOLD_ALLOW_PRIVATE_URLS`. Keys are sent in headers only and never
appear in an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import httpx

from ...settings import Settings

__all__ = ["MISSING_PROVIDER", "SearchFailed", "SearchProvider", "native_search_problem", "provider_for"]

MISSING_PROVIDER = (
    "capability `webSearch` needs a search provider: set CARGOHOLD_SEARXNG_URL (a SearXNG instance with its "
    "JSON format enabled), CARGOHOLD_BRAVE_API_KEY or CARGOHOLD_TAVILY_API_KEY"
)
_SNIPPET_CHARS = 500


class SearchFailed(Exception):
    """The provider answered with an error; `str()` is safe to show."""


class SearchProvider(Protocol):
    name: ClassVar[str]

    async def search(self, http: httpx.AsyncClient, query: str, limit: int) -> list[dict[str, str]]: ...


def _result(title: Any, url: Any, snippet: Any) -> dict[str, str] | None:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None
    return {
        "title": str(title or url)[:300],
        "url": url,
        "snippet": " ".join(str(snippet or "").split())[:_SNIPPET_CHARS],
    }


def _results(items: Any, title: str, url: str, snippet: str, limit: int) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and (found := _result(item.get(title), item.get(url), item.get(snippet))):
            out.append(found)
        if len(out) >= limit:
            break
    return out


def _checked(response: httpx.Response, name: str) -> Any:
    if response.status_code >= 400:
        raise SearchFailed(f"{name} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise SearchFailed(f"{name} did not answer JSON (is its JSON format enabled?)") from None


@dataclass(frozen=True, slots=True)
class SearXNG:
    base_url: str
    name: ClassVar[str] = "SearXNG"

    async def search(self, http: httpx.AsyncClient, query: str, limit: int) -> list[dict[str, str]]:
        url = self.base_url.rstrip("/") + "/search"
        response = await http.get(url, params={"q": query, "format": "json"})
        body = _checked(response, self.name)
        return _results(body.get("results") if isinstance(body, dict) else None, "title", "url", "content", limit)


@dataclass(frozen=True, slots=True)
class Brave:
    api_key: str
    base_url: str = "https://api.search.brave.com"
    name: ClassVar[str] = "Brave Search"

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/res/v1/web/search"

    async def search(self, http: httpx.AsyncClient, query: str, limit: int) -> list[dict[str, str]]:
        headers = {"X-Subscription-Token": self.api_key, "Accept": "application/json"}
        response = await http.get(self.endpoint, params={"q": query, "count": limit}, headers=headers)
        body = _checked(response, self.name)
        web = body.get("web") if isinstance(body, dict) else None
        return _results(web.get("results") if isinstance(web, dict) else None, "title", "url", "description", limit)


@dataclass(frozen=True, slots=True)
class Tavily:
    api_key: str
    base_url: str = "https://api.tavily.com"
    name: ClassVar[str] = "Tavily"

    @property
    def endpoint(self) -> str:
        return self.base_url.rstrip("/") + "/search"

    async def search(self, http: httpx.AsyncClient, query: str, limit: int) -> list[dict[str, str]]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        response = await http.post(self.endpoint, json={"query": query, "max_results": limit}, headers=headers)
        body = _checked(response, self.name)
        return _results(body.get("results") if isinstance(body, dict) else None, "title", "url", "content", limit)


NATIVE_SEARCH_INTEGRATIONS = ("anthropic", "gemini")


def native_search_problem(integration: str, model_slug: str) -> str | None:
    """Why the turn's model cannot search natively (`CARGOHOLD_WEB_SEARCH_PROVIDER=native`), or None.
    pydantic-ai's `WebSearchTool` reaches Anthropic's and Gemini's search; our `openai` integration
    is Chat Completions, where only the `*-search-preview` models take `web_search_options`."""
    if integration in NATIVE_SEARCH_INTEGRATIONS:
        return None
    if integration == "openai" and "search-preview" in model_slug:
        return None
    return (
        f"capability `webSearch` uses the model's native search on this server (CARGOHOLD_WEB_SEARCH_PROVIDER="
        f"native), which model {integration}:{model_slug} does not offer: use an Anthropic or Gemini model "
        "(or an OpenAI *-search-preview model)"
    )


def provider_for(settings: Settings) -> SearchProvider | None:
    """The configured provider (`web_search_provider`; `auto`: SearXNG, Brave, Tavily), or None."""
    choice = settings.web_search_provider
    if settings.searxng_url and choice in ("auto", "searxng"):
        return SearXNG(settings.searxng_url)
    if settings.brave_api_key and choice in ("auto", "brave"):
        return Brave(settings.brave_api_key.get_secret_value(), settings.brave_url)
    if settings.tavily_api_key and choice in ("auto", "tavily"):
        return Tavily(settings.tavily_api_key.get_secret_value(), settings.tavily_url)
    return None
