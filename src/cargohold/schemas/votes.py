"""Votes (`/v1/ai/votes`, cargo-ai-api §1.8): a user's thumbs up or down on a message."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from .common import UUID4, CamelModel, RequestModel

__all__ = ["Vote", "VoteEnvelope", "VotePut", "VotesEnvelope"]


class Vote(CamelModel):
    workspace_uuid: UUID
    user_uuid: UUID
    chat_uuid: UUID
    message_uuid: UUID
    is_upvoted: bool
    updated_at: datetime


class VoteEnvelope(CamelModel):
    vote: Vote


class VotesEnvelope(CamelModel):
    votes: list[Vote]


class VotePut(RequestModel):
    chat_uuid: UUID4
    message_uuid: UUID4
    is_upvoted: bool
