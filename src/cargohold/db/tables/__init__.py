"""The tables, by what they hold. Every row that belongs to a workspace carries `workspace_uuid`,
and every query filters on it (see store/)."""

from .agents import DEPLOYED, DRAFT, Agent, Release, ScheduleTick, Tool, ToolRun, TurnStep
from .base import NOT_DELETED, UNFINISHED, Base, complete, insert_rows
from .chats import ApiToken, Chat, Document, Memory, Message, SuggestedActionsCache, User, Vote, Workspace
from .data import DEFAULT_CONNECTOR, Connector, Dataset, StorageModel, StorageRecord
from .files import INDEX_WORK, FileFolder, KnowledgeChunk, KnowledgeIndexVersion, StoredFile
from .mcp import McpConnection, McpServer, McpServerCall

__all__ = [
    "DEFAULT_CONNECTOR",
    "DEPLOYED",
    "DRAFT",
    "INDEX_WORK",
    "NOT_DELETED",
    "UNFINISHED",
    "Agent",
    "ApiToken",
    "Base",
    "Chat",
    "Connector",
    "Dataset",
    "Document",
    "FileFolder",
    "KnowledgeChunk",
    "KnowledgeIndexVersion",
    "McpConnection",
    "McpServer",
    "McpServerCall",
    "Memory",
    "Message",
    "Release",
    "ScheduleTick",
    "StorageModel",
    "StorageRecord",
    "StoredFile",
    "SuggestedActionsCache",
    "Tool",
    "ToolRun",
    "TurnStep",
    "User",
    "Vote",
    "Workspace",
    "complete",
    "insert_rows",
]
