"""Whether this server can run a capability (checked before a release or turn is stored: a 400)."""

from __future__ import annotations

from ...sandbox import sandbox_problem
from ...settings import Settings
from .search_providers import MISSING_PROVIDER, provider_for

__all__ = ["capability_problem"]


def capability_problem(slug: str, settings: Settings) -> str | None:
    """Why `slug` cannot run here (what to set or install), or None."""
    if slug == "webSearch" and settings.web_search_provider != "native" and provider_for(settings) is None:
        return MISSING_PROVIDER
    if slug == "codeInterpreter" and (problem := sandbox_problem(settings.sandbox_python)):
        return (
            f"capability `codeInterpreter` cannot run on this server: {problem}. It needs bubblewrap "
            "(Debian/Ubuntu: `apt-get install bubblewrap`) and never runs code unsandboxed"
        )
    return None
