"""Files a turn's tools write (the code interpreter's), stored as temporary files of the chat
(`files.is_temporary`, `chat_uuid`) so they are served at `/v1/content/files/{uuid}/raw` to the
chat's workspace like a message's attachments. Implements `runtime/capabilities/ports.ChatFilePort`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import uuid
from dataclasses import dataclass

from ..db.engine import SessionFactory
from ..db.tables import StoredFile
from ..db.types import utcnow
from ..files.blobs import BlobStore, new_key
from ..files.names import clean_name

__all__ = ["TurnChatFiles"]


@dataclass(frozen=True, slots=True)
class TurnChatFiles:
    sessions: SessionFactory
    blobs: BlobStore
    workspace_uuid: uuid.UUID
    user_uuid: uuid.UUID | None
    chat_uuid: uuid.UUID

    async def save(self, name: str, media_type: str, data: bytes) -> uuid.UUID:
        file_uuid = uuid.uuid4()
        key = new_key(self.workspace_uuid, file_uuid)
        await self.blobs.put(key, io.BytesIO(data))
        try:
            async with self.sessions() as session, session.begin():
                now = utcnow()
                session.add(
                    StoredFile(
                        uuid=file_uuid,
                        workspace_uuid=self.workspace_uuid,
                        user_uuid=self.user_uuid,
                        name=clean_name(name.rsplit("/", 1)[-1], "file"),
                        kind="native",
                        is_temporary=True,
                        chat_uuid=self.chat_uuid,
                        content_type=media_type,
                        size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(),
                        blob_key=key,
                        version=1,
                        index_status="pending",
                        created_at=now,
                        updated_at=now,
                    )
                )
        except BaseException:
            with contextlib.suppress(Exception):  # an orphan blob, never a broken file
                await asyncio.shield(self.blobs.delete(key))
            raise
        return file_uuid
