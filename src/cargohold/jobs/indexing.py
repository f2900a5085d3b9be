"""The background indexer: files are indexed off the request, at most `CARGOHOLD_INDEX_CONCURRENCY`
at a time per replica, and none is lost to a restart.

Work lives in the database, not in memory: a file is `pending` until a replica claims it (a
conditional UPDATE to `indexing`, so of several replicas one wins), and the claim is renewed every
third of `CARGOHOLD_INDEX_LEASE_SECONDS`; a claim left stale by a dead replica is taken over. An
upload on this replica wakes the loop at once; others' uploads are found by polling every
`CARGOHOLD_INDEX_POLL_SECONDS`. At start, files indexed with another embedding model go back to
`pending`.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from ..files.blobs import make_blob_store
from ..files.embedder import shared_embedder
from ..files.indexing import Claim, index_file
from ..knowledge.embeddings import Embedder
from ..state import AppState
from ..store import files as store

__all__ = ["Indexer", "start_indexer"]

log = logging.getLogger(__name__)


class Indexer:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.settings = state.settings
        self.wake = asyncio.Event()
        self.running: dict[asyncio.Task[str], Claim] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self.settings.index_concurrency > 0:
            self.tasks.append(asyncio.create_task(self._loop(), name="file-indexer"))
            self.tasks.append(asyncio.create_task(self._renew(), name="file-indexer-claims"))

    async def stop(self) -> None:
        for task in [*self.tasks, *self.running]:
            task.cancel()
        for task in [*self.tasks, *self.running]:
            with suppress(asyncio.CancelledError, Exception):
                await task
        # Claims of files cut off here go stale and are taken over (by this replica's next start too).

    async def _loop(self) -> None:
        embedder = await self._embedder()
        async with self.state.sessions() as session, session.begin():
            if count := await store.mark_stale_model(session, embedder.name):
                log.info("%d file(s) indexed with another embedding model: reindexing", count)
        while True:
            try:
                await self._fill(embedder)
            except Exception:
                log.exception("file indexer pass failed")
            self.wake.clear()
            waits: set[asyncio.Future[object]] = {asyncio.ensure_future(self.wake.wait())}
            waits.update(self.running)  # type: ignore[arg-type]
            done, _ = await asyncio.wait(
                waits, timeout=self.settings.index_poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for future in waits - done:
                if future not in self.running:
                    future.cancel()
            for task in [t for t in self.running if t.done()]:
                claim = self.running.pop(task)
                if not task.cancelled() and task.exception() is not None:
                    log.error("file %s: indexer task failed", claim.file_uuid, exc_info=task.exception())

    async def _embedder(self) -> Embedder:
        while True:
            try:
                return await shared_embedder(self.settings)
            except Exception:
                log.exception("the embedding model could not be loaded; retrying")
                await asyncio.sleep(self.settings.index_poll_seconds)

    async def _fill(self, embedder: Embedder) -> None:
        free = self.settings.index_concurrency - len(self.running)
        if free <= 0:
            return
        lease = self.settings.index_lease_seconds
        async with self.state.sessions() as session:
            candidates = await store.index_candidates(session, lease, free * 4)
        for file_uuid, version in candidates:
            if free <= 0:
                break
            async with self.state.sessions() as session, session.begin():
                claimed = await store.claim_file(session, file_uuid, version, lease)
            if claimed:
                claim = Claim(file_uuid, version)
                task = asyncio.create_task(
                    index_file(self.state.sessions, self.state.blobs, embedder, self.settings, claim),
                    name=f"index-{file_uuid}",
                )
                self.running[task] = claim
                free -= 1

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.settings.index_lease_seconds / 3)
            claims = [(c.file_uuid, c.version) for t, c in self.running.items() if not t.done()]
            if not claims:
                continue
            try:
                async with self.state.sessions() as session, session.begin():
                    await store.renew_claims(session, claims)
            except Exception:
                log.exception("could not renew the indexer's claims")


async def start_indexer(state: AppState) -> Indexer:
    """Open the blob store and start this replica's indexer (none with `index_concurrency = 0`)."""
    if getattr(state, "blobs", None) is None:
        state.blobs = make_blob_store(state.settings)
    indexer = Indexer(state)
    state.wake_indexer = indexer.wake.set
    indexer.start()
    return indexer
