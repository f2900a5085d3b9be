"""A Python client for cargohold (and Cargo's AI API): `Client` (sync) and `AsyncClient`, on httpx,
typed with the server's own wire models.

    from cargohold.client import Client
    with Client("http://127.0.0.1:8000", token="chk_...") as client:
        for chunk in client.stream("What is 6 * 7? Use calculate."):
            ...
        chats = client.list_chats()

Errors are raised as `CargoholdAPIError` (`status`, `reason`, `message`). A stream yields
pydantic-ai's UI message stream chunk models (`TextDeltaChunk`, `ToolOutputAvailableChunk`, ...).
"""

from ._requests import CargoholdAPIError, Chunk, parse_chunk
from .async_client import AsyncClient
from .sync_client import Client

__all__ = ["AsyncClient", "CargoholdAPIError", "Chunk", "Client", "parse_chunk"]
