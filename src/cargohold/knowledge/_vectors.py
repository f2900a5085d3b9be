"""The vector leg: brute-force cosine in numpy over a workspace's vectors, kept in memory.

Reading 100,000 vectors from the database per search would take seconds; a matrix product over
them in memory takes milliseconds. So each process keeps, per (database, workspace, model), the
matrix of the workspace's vectors, and checks `knowledge_index_versions` (one primary-key read)
on every search: when another writer (any process) changed the workspace, only the difference is
read (ids are never reused: the new rows, and the ids still present). A workspace too large for
the cache is read whole for that search. Vectors are L2-normalised, so cosine is a dot product.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import KnowledgeChunk as C
from ..db.tables import KnowledgeIndexVersion as V

__all__ = ["VectorCache", "default_cache"]

THREAD_ROWS = 20_000
"""From this many rows, the product runs in a thread (the event loop keeps serving)."""


@dataclass
class _Entry:
    version: int
    ids: npt.NDArray[np.int64]
    files: npt.NDArray[np.bytes_]
    matrix: npt.NDArray[np.float32]
    """C-contiguous float32, one L2-normalised row per chunk."""
    _codes: tuple[dict[bytes, int], npt.NDArray[np.int32]] | None = None

    def rows_of(self, file_uuids: Collection[UUID]) -> npt.NDArray[np.bool_]:
        """The mask of the rows of `file_uuids`: a lookup by small integer per row (a file's code),
        computed once per entry, instead of comparing 16-byte keys of every row on each search."""
        if self._codes is None:
            uniques, inverse = np.unique(self.files, return_inverse=True)
            self._codes = ({bytes(u): n for n, u in enumerate(uniques)}, inverse.astype(np.int32).reshape(-1))
        index, codes = self._codes
        wanted = np.zeros(len(index) + 1, dtype=np.bool_)
        for file_uuid in file_uuids:
            wanted[index.get(file_uuid.bytes, len(index))] = True
        wanted[len(index)] = False
        return wanted[codes]


class VectorCache:
    def __init__(self, max_rows: int = 500_000) -> None:
        self.max_rows = max_rows
        self._entries: OrderedDict[tuple[str, UUID, str, int], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def sized(self, max_rows: int) -> VectorCache:
        """This cache, holding at most `max_rows` vectors from now on (`knowledge_vector_cache_rows`)."""
        with self._lock:
            self.max_rows = max_rows
            self._evict()
        return self

    def _evict(self) -> None:
        while self._entries and sum(e.ids.shape[0] for e in self._entries.values()) > self.max_rows:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    async def nearest(
        self,
        session: AsyncSession,
        workspace_uuid: UUID,
        query: npt.NDArray[np.float32],
        *,
        model: str,
        file_uuids: Collection[UUID] | None,
        limit: int,
        min_score: float | None,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the workspace's closest chunks embedded by `model`, best first."""
        entry = await self._entry(session, workspace_uuid, model, int(query.shape[0]))
        query = np.ascontiguousarray(query, dtype=np.float32)
        if len(entry.ids) >= THREAD_ROWS:  # milliseconds of BLAS: off the event loop
            return await asyncio.to_thread(_nearest, entry, query, file_uuids, limit, min_score)
        return _nearest(entry, query, file_uuids, limit, min_score)

    async def _entry(self, session: AsyncSession, workspace_uuid: UUID, model: str, dimensions: int) -> _Entry:
        key = (str(session.get_bind().engine.url), workspace_uuid, model, dimensions)
        version = (
            await session.execute(sa.select(V.version).where(V.workspace_uuid == workspace_uuid))
        ).scalar_one_or_none() or 0
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is not None and entry.version == version:
            return entry
        entry = await _refresh(session, workspace_uuid, model, dimensions, entry, version)
        if len(entry.ids) <= self.max_rows:
            with self._lock:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                self._evict()
        return entry


def _nearest(
    entry: _Entry,
    query: npt.NDArray[np.float32],
    file_uuids: Collection[UUID] | None,
    limit: int,
    min_score: float | None,
) -> list[tuple[int, float]]:
    matrix, ids = entry.matrix, entry.ids
    if file_uuids is None:
        scores = matrix @ query
    else:
        mask = entry.rows_of(file_uuids)
        selected = np.flatnonzero(mask)
        if len(selected) * 4 < len(ids):  # a few files: gather their rows
            scores, ids = matrix[selected] @ query, ids[selected]
        else:  # most of the workspace: score every row, drop the others
            scores = matrix @ query
            scores[~mask] = -np.inf
            limit = min(limit, len(selected))
    if not len(ids) or limit < 1:
        return []
    top = np.argpartition(-scores, limit - 1)[:limit] if len(scores) > limit else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    found = [(int(ids[i]), float(scores[i])) for i in top]
    return [hit for hit in found if min_score is None or hit[1] >= min_score]


async def _refresh(
    session: AsyncSession, workspace_uuid: UUID, model: str, dimensions: int, old: _Entry | None, version: int
) -> _Entry:
    scope = (C.workspace_uuid == workspace_uuid, C.model == model, C.dimensions == dimensions)
    columns = (C.id, C.file_uuid, C.embedding)
    if old is None or not len(old.ids):
        old = None
        rows = list((await session.execute(sa.select(*columns).where(*scope).order_by(C.id))).all())
    else:
        # Only the difference: ids present now but not cached (compared as sets: on PostgreSQL a
        # lower id can commit after a higher one), and cached ids no longer present.
        present = np.fromiter((await session.execute(sa.select(C.id).where(*scope))).scalars(), dtype=np.int64)
        keep = np.isin(old.ids, present)
        old = _Entry(old.version, old.ids[keep], old.files[keep], old.matrix[keep])
        new = np.setdiff1d(present, old.ids).tolist()
        rows = []
        for start in range(0, len(new), 1000):
            batch = new[start : start + 1000]
            rows.extend((await session.execute(sa.select(*columns).where(*scope, C.id.in_(batch)))).all())
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    files = np.array([r[1].bytes for r in rows], dtype="S16")
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), dimensions)
    if old is not None:
        ids, files = np.concatenate([old.ids, ids]), np.concatenate([old.files, files])
        matrix = np.concatenate([old.matrix, matrix])
    return _Entry(version, ids, files, np.ascontiguousarray(matrix, dtype=np.float32))


default_cache = VectorCache()
"""The process's cache (`index.search` uses it unless given another)."""
