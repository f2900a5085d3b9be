"""The storage ports a turn's capabilities use (`runtime/capabilities/ports.py`), bound to the
turn's workspace, user and chat."""

from __future__ import annotations

from ..runtime.capabilities.ports import CapabilityPorts
from .chat_files import TurnChatFiles
from .documents import TurnDocuments
from .memories import TurnMemories
from .ports import PreparedTurn, TurnDeps

__all__ = ["capability_ports"]


def capability_ports(deps: TurnDeps, turn: PreparedTurn) -> CapabilityPorts:
    return CapabilityPorts(
        memories=TurnMemories(deps.sessions, deps.settings, turn.workspace_uuid),
        documents=TurnDocuments(deps.sessions, turn.workspace_uuid, turn.user_uuid, turn.chat_uuid),
        files=(
            TurnChatFiles(deps.sessions, deps.blobs, turn.workspace_uuid, turn.user_uuid, turn.chat_uuid)
            if deps.blobs is not None
            else None
        ),
    )
