"""A fake OpenAI-compatible `/v1/embeddings` on 127.0.0.1, so the real pydantic-ai/openai client code
runs over HTTP. Vectors are bags of hashed words (deterministic, similar texts score higher).

    async with FakeEmbeddings(dimensions=16) as fake:
        embedder = OpenAICompatibleEmbedder(fake.base_url, "fake-embed", ...)
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..harness import PromptServer, wait_until


def bag_of_words(text: str, dimensions: int) -> list[float]:
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dimensions] += 1.0
    return vector


class FakeEmbeddings:
    def __init__(self, dimensions: int = 16) -> None:
        self.dimensions = dimensions
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_with: int | None = None
        self.port = 0
        self._server: PromptServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _embeddings(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.fail_with:
            return JSONResponse({"error": {"message": "fake failure", "type": "server_error"}}, self.fail_with)
        inputs = [body["input"]] if isinstance(body["input"], str) else body["input"]
        data = [
            {"object": "embedding", "index": i, "embedding": bag_of_words(text, self.dimensions)}
            for i, text in enumerate(inputs)
        ]
        usage = {"prompt_tokens": sum(len(t.split()) for t in inputs), "total_tokens": 0}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})

    async def __aenter__(self) -> FakeEmbeddings:
        app = Starlette(routes=[Route("/v1/embeddings", self._embeddings, methods=["POST"])])
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        server = self._server = PromptServer(uvicorn.Config(app, log_level="warning", lifespan="off"))
        task = self._task = asyncio.create_task(server.serve(sockets=[self._sock]))
        await wait_until(lambda: server.started or task.done(), timeout=10)
        if task.done():
            task.result()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None and self._task is not None:
            self._server.stop()
            await asyncio.wait_for(self._task, timeout=10)
        if self._sock is not None:
            self._sock.close()
