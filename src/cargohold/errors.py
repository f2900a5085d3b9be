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
    "ConnectorNotFound",
    "ConnectorTestFailed",
    "DocumentNotFound",
    "DraftReleaseNotFound",
    "DuplicateConnectorSlug",
    "FailedToGetLanguageModels",
    "FileNotFound",
    "FolderNotEmpty",
    "FolderNotFound",
    "IntegrationNotFound",
    "InvalidActions",
    "InvalidConnector",
    "InvalidConnectorConfig",
    "InvalidJson",
    "InvalidLastEventId",
    "InvalidParent",
    "InvalidReleaseVersion",
    "InvalidString",
    "JsonTooDeep",
    "LanguageModelNotSupported",
    "LanguageModelsNotSupported",
    "LastMessageNotFinished",
    "McpClientFailed",
    "McpClientNeedsReauthentication",
    "McpClientNotSupported",
    "McpClientTimeout",
    "McpClientUnauthorized",
    "McpServerIsReadOnly",
    "McpServerNotFound",
    "MemoryNotFound",
    "MessageAlreadyExists",
    "MessageNotFound",
    "MessageNotUser",
    "MissingProviderKey",
    "ModelCallFailed",
    "NoFile",
    "NotFound",
    "NumberTooLarge",
    "PayloadTooLarge",
    "RateLimited",
    "ReleaseNotFound",
    "ToolNotFound",
    "ToolRunNotFound",
    "Unauthorized",
    "UnknownModel",
    "UploadTooLarge",
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


# --- connectors (issue 10) -------------------------------------------------------------------------


class IntegrationNotFound(NotFound):
    reason = "integrationNotFound"
    default_message = "Integration not found"


class ConnectorNotFound(NotFound):
    reason = "connectorNotFound"
    default_message = "Connector not found"


class DuplicateConnectorSlug(Conflict):
    reason = "duplicateSlug"


class InvalidConnectorConfig(BadRequest):
    """A connector's `config` does not match its integration's JSON Schema."""

    reason = "invalidConfig"


class ConnectorTestFailed(BadRequest):
    """The connection test on create or update failed (bad key, unreachable server): nothing stored."""

    reason = "connectionTestFailed"


class LanguageModelsNotSupported(BadRequest):
    reason = "languageModelsNotSupported"
    default_message = "This connector's integration runs no language models"


class FailedToGetLanguageModels(BadRequest):
    reason = "failedToGetLanguageModels"


class LanguageModelNotSupported(BadRequest):
    """A turn names a model its connector cannot run."""

    reason = "languageModelNotSupported"


class RateLimited(CargoholdError):
    """A connector's `rateLimit` is exhausted for now; `Retry-After` says when to try again."""

    status_code = 429
    reason = "rateLimitExceeded"

    def __init__(self, error_message: str, retry_after_seconds: int) -> None:
        super().__init__(error_message)
        self.headers = {"Retry-After": str(max(1, retry_after_seconds))}


# --- Files (issue 12): the content routes' errors, with Cargo's reasons ---
class FileNotFound(NotFound):
    reason = "fileNotFound"
    default_message = "File not found"


class FolderNotFound(NotFound):
    reason = "folderNotFound"
    default_message = "Folder not found"


class NoFile(BadRequest):
    reason = "noFile"
    default_message = "No file in the upload: send multipart/form-data with a `file` field"


class FolderNotEmpty(Conflict):
    reason = "folderNotEmpty"
    default_message = "The folder still holds files: move or delete them first"


class UploadTooLarge(PayloadTooLarge):
    """A file past `CARGOHOLD_MAX_UPLOAD_BYTES` (reason `payloadTooLarge`, as any body too large)."""


# --- issue 14: capabilities ---


class MemoryNotFound(NotFound):
    reason = "memoryNotFound"
    default_message = "Memory not found"


class DocumentNotFound(NotFound):
    reason = "documentNotFound"
    default_message = "Document not found"


class ModelCallFailed(CargoholdError):
    """A helper route's model call (suggested actions, prompt helpers) failed: the provider's fault."""

    status_code = 502
    reason = "modelCallFailed"


# --- hosted MCP servers (issue 15, item 5) ---


class McpServerNotFound(NotFound):
    reason = "mcpServerNotFound"
    default_message = "MCP server not found"


class McpServerIsReadOnly(Conflict):
    """A server made from a template is kept as the template made it."""

    reason = "mcpServerIsReadOnly"
    default_message = "This MCP server is read-only: it cannot be changed or deleted"
