"""The vector leg: brute-force cosine in numpy over a workspace's vectors, kept in memory.

Reading 100,000 vectors from the database per search would take seconds; a matrix product over
them in memory takes milliseconds. So each process keeps, per (database, workspace, model), the
matrix of the workspace's vectors, and checks `knowledge_index_versions` (one primary-key read)
on every search: when another writer (any process) changed the workspace, only the difference is
read (ids are never reused: the new rows, and the ids still present). A workspace too large for
the cache is read whole for that search. Vectors are L2-normalised, so cosine is a dot product.
"""

from __future__ import annotations

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


@dataclass
class _Entry:
    version: int
    ids: npt.NDArray[np.int64]
    files: npt.NDArray[np.bytes_]
    matrix: npt.NDArray[np.float32]


class VectorCache:
    def __init__(self, max_rows: int = 500_000) -> None:
        self.max_rows = max_rows
        self._entries: OrderedDict[tuple[str, UUID, str, int], _Entry] = OrderedDict()
        self._lock = threading.Lock()

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
        matrix, ids = entry.matrix, entry.ids
        if file_uuids is not None:
            mask = np.isin(entry.files, np.array([u.bytes for u in file_uuids], dtype="S16"))
            matrix, ids = matrix[mask], ids[mask]
        if not len(ids):
            return []
        scores = matrix @ query
        top = np.argpartition(-scores, limit - 1)[:limit] if len(scores) > limit else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        found = [(int(ids[i]), float(scores[i])) for i in top]
        return [hit for hit in found if min_score is None or hit[1] >= min_score]

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
                while sum(e.ids.shape[0] for e in self._entries.values()) > self.max_rows:
                    self._entries.popitem(last=False)
        return entry


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
    return _Entry(version, ids, files, matrix)


default_cache = VectorCache()
"""The process's cache (`index.search` uses it unless given another)."""
