"""/v1/ai/votes: HTTP only; the work is in services/votes.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.votes import Vote, VoteEnvelope, VotePut, VotesEnvelope
from ..services import votes as service
from .deps import Caller, State

__all__ = ["router"]

router = APIRouter(prefix="/v1/ai/votes", tags=["AI - Votes"], responses=ERROR_RESPONSES)


@router.put("", summary="Vote on a message (voting again changes the vote)")
async def put_vote(state: State, who: Caller, body: VotePut) -> VoteEnvelope:
    row = await service.vote(state, who, body.chat_uuid, body.message_uuid, body.is_upvoted)
    return VoteEnvelope(vote=Vote.model_validate(row))


@router.get("/list", summary="The votes on a chat's messages")
async def list_votes(state: State, who: Caller, chat_uuid: Annotated[UUID4, Query(alias="chatUuid")]) -> VotesEnvelope:
    return VotesEnvelope(votes=[Vote.model_validate(row) for row in await service.list_votes(state, who, chat_uuid)])
