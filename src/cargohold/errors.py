"""The one error tree. Each class carries its HTTP status and Cargo `reason` code.

    CargoholdError (500)
    ├── BadRequest (400)             MessageNotUser, UnknownModel, MissingProviderKey
    ├── Unauthorized (401)
    ├── NotFound (404)               ChatNotFound, MessageNotFound
    └── Conflict (409)               LastMessageNotFinished, MessageAlreadyExists
Every error reaches the client as `{"errorMessage": str, "reason"?: str}` through the single
handler in `api/errors.py`.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadRequest",
    "CargoholdError",
    "ChatNotFound",
    "Conflict",
    "LastMessageNotFinished",
    "MessageAlreadyExists",
    "MessageNotFound",
    "MessageNotUser",
    "MissingProviderKey",
    "NotFound",
    "Unauthorized",
    "UnknownModel",
]


class CargoholdError(Exception):
    status_code: ClassVar[int] = 500
    reason: ClassVar[str | None] = None
    default_message: ClassVar[str] = "Internal server error"

    def __init__(self, error_message: str | None = None) -> None:
        self.error_message = error_message or self.default_message
        super().__init__(self.error_message)

    def body(self) -> dict[str, str]:
        body = {"errorMessage": self.error_message}
        if self.reason:
            body["reason"] = self.reason
        return body


class BadRequest(CargoholdError):
    status_code = 400
    default_message = "Bad request"


class Unauthorized(CargoholdError):
    status_code = 401
    default_message = "Missing or invalid API token: send `Authorization: Bearer <token>`"


class NotFound(CargoholdError):
    status_code = 404
    default_message = "Not found"


class Conflict(CargoholdError):
    status_code = 409
    default_message = "Conflict"


class ChatNotFound(NotFound):
    reason = "chatNotFound"
    default_message = "Chat not found"


class MessageNotFound(NotFound):
    reason = "messageNotFound"
    default_message = "Message not found"


class MessageNotUser(BadRequest):
    reason = "messageNotUser"
    default_message = "Only user messages can be deleted"


class LastMessageNotFinished(Conflict):
    reason = "lastMessageNotFinished"
    default_message = "The chat's last message is still pending or generating"


class MessageAlreadyExists(Conflict):
    reason = "messageAlreadyExists"
    default_message = "A message with this uuid already exists"


class UnknownModel(BadRequest):
    reason = "unknownModel"


class MissingProviderKey(BadRequest):
    reason = "missingProviderKey"
