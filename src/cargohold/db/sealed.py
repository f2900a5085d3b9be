"""JSON columns whose secrets are sealed at rest: pinned action configs (`messages.actions`,
`releases.actions`) and background tool-run inputs (`tool_runs.input`).

The column stays JSON (its other fields readable and queryable); only the values the masking
rule calls secret (`schemas.secrets`: everything under `headers`, every key naming a secret) are
stored as `fernet:<token>` of their JSON, with the engine's keyring (crypto.py). Values written
before this existed are read as they are (and re-written sealed by migration 0006).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from ..crypto import PREFIX, keyring_of
from ..schemas.secrets import map_secret_values
from .types import JSONType

__all__ = ["SealedActions", "SealedConfig", "seal_actions", "seal_config", "unseal_actions", "unseal_config"]


def seal_config(value: Any, encrypt: Callable[[str], str]) -> Any:
    def seal(leaf: Any) -> Any:
        if leaf is None or leaf == "":
            return leaf
        return encrypt(json.dumps(leaf, separators=(",", ":"), ensure_ascii=False))

    return map_secret_values(value, seal)


def unseal_config(value: Any, decrypt: Callable[[str], str]) -> Any:
    def unseal(leaf: Any) -> Any:
        if isinstance(leaf, str) and leaf.startswith(PREFIX):
            return json.loads(decrypt(leaf))
        return leaf

    return map_secret_values(value, unseal)


def seal_actions(actions: Any, encrypt: Callable[[str], str]) -> Any:
    if not isinstance(actions, list):
        return actions
    return [
        {**a, "config": seal_config(a["config"], encrypt)} if isinstance(a, dict) and "config" in a else a
        for a in actions
    ]


def unseal_actions(actions: Any, decrypt: Callable[[str], str]) -> Any:
    if not isinstance(actions, list):
        return actions
    return [
        {**a, "config": unseal_config(a["config"], decrypt)} if isinstance(a, dict) and "config" in a else a
        for a in actions
    ]


class SealedActions(sa.TypeDecorator[Any]):
    """A list of actions, their pinned secrets sealed."""

    impl = JSONType
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return seal_actions(value, keyring_of(dialect).encrypt) if value else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return unseal_actions(value, keyring_of(dialect).decrypt) if value else value


class SealedConfig(sa.TypeDecorator[Any]):
    """A JSON object (a tool call's input with its pinned config), its secrets sealed."""

    impl = JSONType
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return seal_config(value, keyring_of(dialect).encrypt) if value else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return unseal_config(value, keyring_of(dialect).decrypt) if value else value
