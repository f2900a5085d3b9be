"""Files a user attaches to a message (AI SDK `file` parts with a `data:` URL) become temporary
files of the chat: their bytes go to the blob store before the message's transaction, their rows
are added inside it (so a refused message leaves nothing), and the part then points at the file
(`url: /v1/content/files/<uuid>/raw`) instead of carrying its bytes. Documents are indexed and
searched by the `fileSearch` capability; images stay inline in the part, so models that take
images get them (as pydantic-ai `BinaryContent`) from the chat's history. A part naming an image
file already uploaded to the workspace is inlined the same way (a model cannot fetch our URL).

A part whose url is already a file of this workspace (`.../v1/content/files/<uuid>/raw` or
`.../v1/ai/files/<uuid>`) is kept as it is; another workspace's file is a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import StoredFile
from ..db.types import utcnow
from ..errors import BadRequest, UploadTooLarge
from ..knowledge.extract import sniff_media_type
from ..settings import Settings
from ..store import files as store
from ..store.workspaces import Principal
from .blobs import BlobStore, new_key
from .names import clean_name
from .urls import ATTACHMENT_URL, attachment_uuid

__all__ = ["ATTACHMENT_URL", "Attachments", "attachment_uuid", "has_file_parts", "prepare_attachments"]


@dataclass
class Attachments:
    parts: list[Any]
    rows: list[StoredFile] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def add_rows(self, session: AsyncSession, chat_uuid: uuid.UUID) -> None:
        for row in self.rows:
            row.chat_uuid = chat_uuid
            session.add(row)

    async def discard(self, blobs: BlobStore) -> None:
        for key in self.keys:
            try:
                await blobs.delete(key)
            except Exception:  # an orphan blob, never a broken file
                continue


def has_file_parts(parts: list[Any]) -> bool:
    return any(isinstance(part, dict) and part.get("type") == "file" for part in parts)


def _decode(url: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep:
        raise BadRequest("a `file` part's data URL has no `,`")
    if header.endswith(";base64"):
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("a `file` part's data URL is not valid base64") from None
    return unquote_to_bytes(payload)


async def prepare_attachments(
    settings: Settings, blobs: BlobStore, session: AsyncSession, who: Principal, parts: list[Any]
) -> Attachments:
    out = Attachments(parts=[])
    try:
        for part in parts:
            if not (isinstance(part, dict) and part.get("type") == "file" and isinstance(part.get("url"), str)):
                out.parts.append(part)
                continue
            url: str = part["url"]
            if (named := attachment_uuid(url)) is not None:
                if (stored := await store.get_file(session, who.workspace_uuid, named)) is None:
                    raise BadRequest(f"a `file` part names file {named}, which is not a file of this workspace")
                if stored.content_type.startswith("image/") and stored.size <= settings.max_upload_bytes:
                    # The model cannot fetch our URL: an image goes to it inline, as a pasted one does.
                    data = await blobs.read(stored.blob_key)
                    encoded = base64.b64encode(data).decode()
                    url = f"data:{stored.content_type};base64,{encoded}"
                    out.parts.append({**part, "url": url, "mediaType": stored.content_type})
                    continue
                out.parts.append(part)
                continue
            if not url.startswith("data:"):
                out.parts.append(part)  # a public URL: the model's provider fetches it
                continue
            data = _decode(url)
            if len(data) > settings.max_upload_bytes:
                raise UploadTooLarge(f"An attached file is larger than {settings.max_upload_bytes} bytes")
            name = clean_name(part.get("filename"), "attachment")
            media_type = sniff_media_type(data, name)
            if media_type.startswith("image/"):
                out.parts.append(part)  # images go to the model as they are
                continue
            file_uuid = uuid.uuid4()
            key = new_key(who.workspace_uuid, file_uuid)
            await blobs.put(key, io.BytesIO(data))
            out.keys.append(key)
            now = utcnow()
            out.rows.append(
                StoredFile(
                    uuid=file_uuid,
                    workspace_uuid=who.workspace_uuid,
                    user_uuid=who.user_uuid,
                    name=name,
                    kind="native",
                    is_temporary=True,
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
            out.parts.append({**part, "url": ATTACHMENT_URL.format(uuid=file_uuid), "mediaType": media_type})
    except BaseException:
        await out.discard(blobs)
        raise
    return out
