"""The one masking rule: what is a secret in a stored configuration, and how it shows on the wire.

Secrets are:
- every value of an MCP client's `authentication`, whatever its key (`accessToken`, `id_token`,
  `apiKey`, ...), except the few that say how the token set is used and are not credentials
  (`NOT_SECRET_AUTH_KEYS`); the server-side `credentialKey` is never shown at all;
- in an action's pinned `config`: every value under a `headers` object, and every value whose key
  names a secret (`SECRET_NAME`: `authorization`, `apiKey`, `token`, `password`, `cookie`, ...);
- every value of a webhook tool's `headers`;
- in a background tool run's `input` (which holds the pinned config), what the `config` rule masks;
- in a connector's `config`: what the `config` rule masks (`apiKey`, `password`, ...), and the
  password of any URL (`postgresql://user:********@host/db`).

They show as `MASK`. The rule is applied by the serializer: a response field typed
`MaskedMcpClients`, `MaskedActions`, `MaskedConfig` or `MaskedHeaders` cannot return one in clear, whoever builds
the response. A client that sends `MASK` back means "keep the stored value"; that is honoured only
where the stored value would go to the same place (see `restore_actions` and the MCP and webhook
services), else it is a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import PlainSerializer

from ..errors import BadRequest

__all__ = [
    "CREDENTIAL_KEY",
    "MASK",
    "NOT_SECRET_AUTH_KEYS",
    "MaskedActions",
    "MaskedConfig",
    "MaskedConnectorConfig",
    "MaskedHeaders",
    "MaskedMcpClients",
    "is_secret_name",
    "map_secret_values",
    "mask_authentication",
    "mask_connector_config",
    "mask_headers",
    "masked_paths",
    "redact_actions",
    "redact_mcp_clients",
    "refuse_masked_actions",
    "restore_actions",
    "restore_connector_config",
]

MASK = "********"
CREDENTIAL_KEY = "credentialKey"
"""Where a stored MCP client names its credential in the `mcp_connections` store."""
NOT_SECRET_AUTH_KEYS = frozenset({"issuedAt", "expiresIn", "tokenType", "scope", "clientId"})
SECRET_NAME = re.compile(
    r"authorization|auth$|(?<!max)token(?!s|count|limit)|secret|passw|apikey|cookie|credential|privatekey|signature"
)
_TARGET = ("kind", "slug", "toolUuid", "agentUuid", "templateSlug", "integrationSlug", "connectorUuid", "actionSlug")


def is_secret_name(name: str) -> bool:
    """A config key that names a secret (`Authorization`, `api_key`, `X-Api-Key`, `refreshToken`)."""
    return bool(SECRET_NAME.search(re.sub(r"[^a-z0-9]", "", name.lower())))


def _masked(value: Any) -> Any:
    return value if value is None or value == "" else MASK


def mask_authentication(auth: dict[str, Any]) -> dict[str, Any]:
    return {k: v if k in NOT_SECRET_AUTH_KEYS else _masked(v) for k, v in auth.items()}


def redact_mcp_clients(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MCP clients as they may be shown: every secret of `authentication` masked, no credentialKey."""
    out: list[dict[str, Any]] = []
    for client in raw or []:
        if not isinstance(client, dict):
            continue
        shown = {k: v for k, v in client.items() if k != CREDENTIAL_KEY}
        if isinstance(shown.get("authentication"), dict):
            shown["authentication"] = mask_authentication(shown["authentication"])
        elif shown.get("authentication") is not None:
            shown["authentication"] = MASK
        out.append(shown)
    return out


def map_secret_values(value: Any, leaf: Callable[[Any], Any], *, secret: bool = False) -> Any:
    """`value` with `leaf` applied to every value the config rule calls secret (everything under a
    `headers` object, every key naming a secret); the masking here and the sealing at rest
    (db/sealed.py) both walk a config with it."""
    if isinstance(value, dict):
        return {
            k: map_secret_values(v, leaf, secret=secret or k.lower() == "headers" or is_secret_name(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [map_secret_values(v, leaf, secret=secret) for v in value]
    return leaf(value) if secret else value


def _mask_config(value: Any) -> Any:
    return map_secret_values(value, _masked)


def redact_actions(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Actions as they may be shown: the secrets of their pinned `config` masked."""
    return [
        {**a, "config": _mask_config(a["config"])} if isinstance(a, dict) and isinstance(a.get("config"), dict) else a
        for a in raw or []
    ]


def mask_headers(headers: dict[str, str] | None) -> dict[str, str]:
    return dict.fromkeys(headers or {}, MASK)


def masked_paths(value: Any, path: str = "") -> list[str]:
    """Where `value` holds the mask (dotted paths)."""
    if value == MASK:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in masked_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in masked_paths(v, f"{path}[{i}]")]
    return []


def _restore(new: Any, old: Any) -> Any:
    if new == MASK:
        return old if old is not None else MASK
    if isinstance(new, dict):
        old_fields: dict[str, Any] = old if isinstance(old, dict) else {}
        return {k: _restore(v, old_fields.get(k)) for k, v in new.items()}
    if isinstance(new, list):
        old_items: list[Any] = old if isinstance(old, list) else []
        return [_restore(v, old_items[i] if i < len(old_items) else None) for i, v in enumerate(new)]
    return new


def _place(action: dict[str, Any]) -> tuple[Any, ...]:
    """What a pinned secret is sent to: the action's target and the url it calls, if pinned."""
    config = action.get("config")
    url = config.get("url") if isinstance(config, dict) else None
    return (*(action.get(k) for k in _TARGET), url)


def restore_actions(new: list[dict[str, Any]] | None, old: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """`new` with each masked config value replaced by the stored one of the action with the same
    slug, target and pinned url in `old` (a changed target or url keeps no secret)."""
    if new is None:
        return None
    stored = {_place(a): a for a in old or [] if isinstance(a, dict)}
    out = []
    for action in new:
        previous = stored.get(_place(action)) if isinstance(action, dict) else None
        if previous is not None and isinstance(action.get("config"), dict):
            action = {**action, "config": _restore(action["config"], previous.get("config"))}
        out.append(action)
    return out


def refuse_masked_actions(raw: list[dict[str, Any]] | None, field: str = "actions") -> None:
    """A mask left in an action's config stands for no stored secret: a 400 naming it."""
    for i, action in enumerate(raw or []):
        if isinstance(action, dict):
            for path in masked_paths(action.get("config"), "config"):
                raise BadRequest(
                    f"`{field}[{i}].{path}`: `{MASK}` stands for a stored secret, and this action has none to keep "
                    "(it is new, or its target or url changed): send the value in clear"
                )


_URL_PASSWORD = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@]*:)([^@/?#]*)(@)")


def _mask_url(value: Any) -> Any:
    if isinstance(value, str) and (match := _URL_PASSWORD.match(value)) and match.group(2):
        return match.group(1) + MASK + match.group(3) + value[match.end() :]
    return value


def mask_connector_config(value: Any) -> Any:
    """A connector's config as it may be shown: secrets masked, and every URL's password."""
    if isinstance(value, dict):
        return {k: mask_connector_config(v) for k, v in map_secret_values(value, _masked).items()}
    if isinstance(value, list):
        return [mask_connector_config(v) for v in value]
    return _mask_url(value)


def restore_connector_config(new: Any, old: Any) -> Any:
    """`new` with every value that is the masked form of the stored one replaced by the stored one
    (a client sends back what it read to change other fields)."""
    if isinstance(new, dict):
        old_fields: dict[str, Any] = old if isinstance(old, dict) else {}
        out = {}
        for key, value in new.items():
            stored = old_fields.get(key)
            masked_stored = mask_connector_config({key: stored}).get(key) if key in old_fields else None
            if key in old_fields and value == masked_stored and masked_stored != stored:
                out[key] = stored
            else:
                out[key] = restore_connector_config(value, stored)
        return out
    if isinstance(new, list):
        old_items: list[Any] = old if isinstance(old, list) else []
        return [restore_connector_config(v, old_items[i] if i < len(old_items) else None) for i, v in enumerate(new)]
    return new


MaskedMcpClients = Annotated[
    list[dict[str, Any]], PlainSerializer(redact_mcp_clients, return_type=list[dict[str, Any]])
]
"""MCP clients in a response: secrets of `authentication` masked by the serializer."""
MaskedActions = Annotated[list[dict[str, Any]], PlainSerializer(redact_actions, return_type=list[dict[str, Any]])]
"""Actions in a response: secrets of their pinned `config` masked by the serializer."""
MaskedConfig = Annotated[Any, PlainSerializer(lambda value: _mask_config(value), return_type=Any)]
"""Tool input that may hold pinned config (a background run's `input`): its secrets masked."""
MaskedHeaders = Annotated[dict[str, str], PlainSerializer(mask_headers, return_type=dict[str, str])]
"""Webhook headers in a response: the names, every value masked by the serializer."""
MaskedConnectorConfig = Annotated[Any, PlainSerializer(mask_connector_config, return_type=Any)]
"""A connector's config in a response: its secrets and URL passwords masked by the serializer."""
