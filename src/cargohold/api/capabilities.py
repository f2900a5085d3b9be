"""The routes around capabilities (issue 14), as one router for the app: memories, documents,
votes, suggested actions and the prompt helpers."""

from __future__ import annotations

from fastapi import APIRouter

from . import assist, documents, memories, votes

__all__ = ["capabilities_router"]


def capabilities_router() -> APIRouter:
    router = APIRouter()
    for module in (memories, documents, votes, assist):
        router.include_router(module.router)
    return router
