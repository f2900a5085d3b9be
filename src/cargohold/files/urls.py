"""This server's own file urls, as a message's `file` parts carry them."""

from __future__ import annotations

import re
import uuid

__all__ = ["ATTACHMENT_URL", "attachment_uuid"]

ATTACHMENT_URL = "/v1/content/files/{uuid}/raw"
_OUR_URL = re.compile(r"(?:^|/)v1/(?:content|ai)/files/([0-9a-fA-F-]{36})(?:/raw)?/?$")


def attachment_uuid(url: str) -> uuid.UUID | None:
    """The file a part's url names, if it is one of this server's file urls."""
    found = _OUR_URL.search(url.split("?", 1)[0])
    if found is None:
        return None
    try:
        return uuid.UUID(found.group(1))
    except ValueError:
        return None
