"""The one error tree. Each class carries its HTTP status and Cargo `reason` code.

    CargoholdError (500)
    ├── BadRequest (400)             MessageNotUser, UnknownModel, MissingProviderKey, InvalidJson,
    │                                JsonTooDeep, InvalidString, NumberTooLarge, InvalidLastEventId
    ├── PayloadTooLarge (413)
    ├── Unauthorized (401)
    ├── NotFound (404)               ChatNotFound, MessageNotFound
    └── Conflict (409)               LastMessageNotFinished, MessageAlreadyExists
Every error reaches the client as `{"errorMessage": str, "reason"?: str}` through the single
handler in `api/errors.py`.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AgentNotFound",
    "BadRequest",
    "CargoholdError",
    "ChatNotFound",
    "Conflict",
    "DraftReleaseNotFound",
    "InvalidActions",
    "InvalidConnector",
    "InvalidJson",
    "InvalidLastEventId",
    "InvalidParent",
    "InvalidReleaseVersion",
    "InvalidString",
    "JsonTooDeep",
    "LastMessageNotFinished",
    "McpClientFailed",
    "McpClientNeedsReauthentication",
    "McpClientNotSupported",
    "McpClientTimeout",
    "McpClientUnauthorized",
    "McpServerIsReadOnly",
    "McpServerNotFound",
    "MessageAlreadyExists",
    "MessageNotFound",
    "MessageNotUser",
    "MissingProviderKey",
    "NotFound",
    "NumberTooLarge",
    "PayloadTooLarge",
    "ReleaseNotFound",
    "ToolNotFound",
    "ToolRunNotFound",
    "Unauthorized",
    "UnknownModel",
    "UrlNotAllowed",
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


class AgentNotFound(NotFound):
    reason = "agentNotFound"
    default_message = "Agent not found"


class ReleaseNotFound(NotFound):
    reason = "releaseNotFound"
    default_message = "Release not found"


class DraftReleaseNotFound(NotFound):
    reason = "draftReleaseNotFound"
    default_message = "This agent has no draft release"


class InvalidReleaseVersion(BadRequest):
    reason = "invalidReleaseVersion"


class InvalidParent(BadRequest):
    reason = "invalidParent"


class InvalidConnector(BadRequest):
    reason = "invalidConnector"


class InvalidActions(BadRequest):
    """An action that cannot be bound to a tool, agent or connector of this workspace."""

    reason = "failedToReconciliateAgentAiTools"


class ToolNotFound(NotFound):
    reason = "toolNotFound"
    default_message = "Tool not found"


class ToolRunNotFound(NotFound):
    reason = "toolRunNotFound"
    default_message = "Tool run not found"


class McpClientFailed(BadRequest):
    """An MCP server that could not be reached or listed (`POST /v1/ai/mcpClients/connect`)."""

    reason = "mcpClientUnreachable"


class McpClientTimeout(McpClientFailed):
    reason = "mcpClientTimeout"


class McpClientUnauthorized(McpClientFailed):
    reason = "mcpClientUnauthorized"


class McpClientNeedsReauthentication(McpClientFailed):
    reason = "mcpClientNeedsReauthentication"


class McpClientNotSupported(McpClientFailed):
    reason = "mcpClientNotSupported"


class UrlNotAllowed(BadRequest):
    """An outbound URL to a loopback, link-local or private address the operator did not allow."""

    reason = "urlNotAllowed"


class PayloadTooLarge(CargoholdError):
    status_code = 413
    reason = "payloadTooLarge"
    default_message = "The request body is too large"


class InvalidJson(BadRequest):
    reason = "invalidJson"
    default_message = "The request body is not valid JSON"


class JsonTooDeep(BadRequest):
    reason = "jsonTooDeep"


class InvalidString(BadRequest):
    """NUL or a lone UTF-16 surrogate: text that cannot be stored on every backend."""

    reason = "invalidString"


class NumberTooLarge(BadRequest):
    """Infinite, NaN, or an integer past 64 bits."""

    reason = "numberTooLarge"


class InvalidLastEventId(BadRequest):
    reason = "invalidLastEventId"
    default_message = "`Last-Event-ID` is not an id of this stream: send the `id:` of the last event received"


# --- hosted MCP servers (issue 15, item 5) ---


class McpServerNotFound(NotFound):
    reason = "mcpServerNotFound"
    default_message = "MCP server not found"


class McpServerIsReadOnly(Conflict):
    """A server made from a template is kept as the template made it."""

    reason = "mcpServerIsReadOnly"
    default_message = "This MCP server is read-only: it cannot be changed or deleted"
