"""All configuration, read from the environment (prefix `CARGOHOLD_`) or given to `create_app`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ModelPrice", "Settings"]


class ModelPrice(BaseModel):
    """Credits charged per 1,000 tokens of a model."""

    input: float = 0.0
    output: float = 0.0


DEFAULT_PRICES: dict[str, ModelPrice] = {
    "offline": ModelPrice(input=0.01, output=0.02),
    "gpt-4o-mini": ModelPrice(input=0.015, output=0.06),
    "gpt-4o": ModelPrice(input=0.25, output=1.0),
    "gpt-4.1-mini": ModelPrice(input=0.04, output=0.16),
    "claude-3-5-haiku-latest": ModelPrice(input=0.08, output=0.4),
    "claude-sonnet-4-0": ModelPrice(input=0.3, output=1.5),
    "*": ModelPrice(input=0.1, output=0.4),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARGOHOLD_", extra="ignore")

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir.expanduser() / 'cargohold.db'}"
        return self

    @property
    def uses_data_dir(self) -> bool:
        """True when the database is the embedded default in `data_dir`."""
        return self.database_url == f"sqlite+aiosqlite:///{self.data_dir.expanduser() / 'cargohold.db'}"

    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("cargohold", appauthor=False)))
    """Where the embedded default keeps its files: the SQLite database (`cargohold.db`) and its key
    (`cargohold.key`). Default: the per-user data directory (`~/.local/share/cargohold` on Linux)."""
    database_url: str = ""
    """SQLAlchemy async URL. Unset: SQLite (WAL) in `data_dir`; `postgresql+asyncpg://...` in production."""
    redis_url: str | None = None
    """When set, streams and cancel signals go through Redis, so any instance can resume or cancel."""
    redis_prefix: str = "cargohold"
    stream_retention_seconds: float = 120.0
    """How long a finished stream stays replayable (a late reader with `Last-Event-ID`); also how
    long a cancel request waits for its run to register."""

    log_format: Literal["text", "json"] = "text"
    """`json`: one JSON object per log line, each line of a turn with its `messageUuid`."""
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: str = ""
    """Origins a browser front end may call the API from (CORS), comma-separated
    (`https://app.example,http://localhost:3000`), or `*` for any. Unset: no CORS headers."""

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    """Any OpenAI-compatible server (Ollama, vLLM, llama.cpp): e.g. http://localhost:11434/v1."""
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    default_model: str | None = None
    """`integration:model`, e.g. `openai:gpt-4o-mini`. Unset: openai or anthropic when its key is set,
    else the built-in `offline:offline`."""
    offline_token_delay: float = 0.02
    """Seconds between the offline model's streamed words, so the quick start looks like a stream."""
    model_request_timeout: float = 120.0
    """Seconds a provider call may take before it fails (and the turn ends `error`)."""
    model_max_retries: int = 2
    """Provider calls retried on connection errors, 429 and 5xx, with backoff."""

    model_prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    """Credits per 1,000 input/output tokens by model slug; `*` is the fallback. JSON in the env."""

    ai_sdk_version: Literal[5, 6, 7] = 5
    """The AI SDK major version of your clients: chunks carry only the fields that version knows."""
    keepalive_seconds: float = 15.0
    """A `: keep-alive` comment is written when the stream has been quiet this long."""
    max_parts_per_message: int = 1000
    """A message a client sends has at most this many parts (400 past it)."""
    max_part_text_chars: int = 500_000
    """A text part a client sends has at most this many characters (400 past it)."""
    default_max_steps: int = 20
    max_steps_limit: int = 100

    builtin_tools: list[str] = Field(default_factory=lambda: ["current_time", "calculate"])
    """Built-in tools every turn may call. JSON list in the env; `[]` disables them."""

    lease_seconds: float = 30.0
    """A running turn renews its lease this often (x 1/3); one whose lease expired is `interrupted`."""
    reaper_interval_seconds: float = 10.0

    allow_private_urls: str = ""
    """Outbound requests (webhook tools, the `http` connector, MCP servers, OAuth endpoints) to
    loopback, link-local or private addresses are refused unless allowed here: a comma-separated
    list of hosts or CIDR ranges (`127.0.0.0/8,10.2.0.0/16,mcp.internal`), or `*` for any."""
    outbound_timeout: float = 30.0
    """Seconds a webhook tool or connector request may take before the tool call fails."""
    mcp_connect_timeout: float = 10.0
    """Seconds to connect to an MCP server (per client: `timeouts.connect`)."""
    mcp_list_timeout: float = 10.0
    """Seconds to list an MCP server's tools (per client: `timeouts.list`)."""
    mcp_call_timeout: float = 120.0
    """Seconds one MCP tool call may take (per client: `timeouts.call`)."""
    max_tool_output_bytes: int = 100_000
    """A tool's output (as JSON) is cut to this many bytes before it is stored, streamed or given to
    the model; the output says so."""
    max_webhook_response_bytes: int = 2 * 1024 * 1024
    """A webhook tool's answer past this many bytes is a failed call, read no further."""
    builtin_tool_timeout: float = 10.0
    """Seconds a built-in or plugin (Python) tool call may take; it runs off the event loop."""
    tool_bulk_max_items: int = 100
    """The most inputs one bulk tool call may carry (`isBulkAllowed`)."""
    tool_bulk_concurrency: int = 4
    """Items of a bulk call run at most this many at a time."""
    max_agent_depth: int = 3
    """How deep agents may call agents (an agent action); a cycle is always refused."""

    secret_key: SecretStr | None = None
    """Encrypts secrets at rest (webhook headers and signing secrets, MCP credentials): one or more
    Fernet keys or passphrases of 16+ characters, comma-separated; the first encrypts, all decrypt
    (rotate by putting the new key first). Unset on SQLite: generated into `cargohold.key` beside
    the database (mode 0600). Unset on PostgreSQL: the server refuses to start."""
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    """The largest request body, in bytes: past it a 413 `payloadTooLarge`, before the body is read whole."""
    max_json_depth: int = Field(default=64, ge=2, le=100)
    """How deep JSON may nest in a request body (objects and arrays); deeper is a 400 naming the field."""
    max_json_field_bytes: int = Field(default=256 * 1024, ge=1024)
    """The largest free-form JSON field (an agent's `template`, a tool's `inputSchema`, release
    `output`/`heartbeat`/`evaluator`, ...), serialized, in bytes; larger is a 400 naming the field."""

    bootstrap: bool = True
    """On first start, create a default workspace, user and API token (printed once)."""

    # Durable turns on Temporal (jobs/temporal/): unset, turns run in process (the default).
    temporal_address: str | None = None
    """`host:port` of a Temporal frontend. Set: API instances start each turn as a workflow and run
    none themselves; `cargohold worker` processes run them (needs `CARGOHOLD_REDIS_URL`)."""
    temporal_namespace: str = "default"
    temporal_task_queue: str = "cargohold"
    temporal_heartbeat_seconds: float = Field(default=5.0, gt=0)
    """A worker running a turn reports to Temporal this often (x 1/3); when it has not for this long
    (it died), another worker takes the turn over from its last recorded step."""
    temporal_max_attempts: int = Field(default=10, ge=1)
    """Workers a turn may be taken over by before it ends `error` (interrupted)."""
    temporal_max_concurrent_turns: int = Field(default=100, ge=1)
    """Turns one `cargohold worker` runs at a time."""

    # Scheduled agents (jobs/schedules.py): agents' cron triggers fire.
    scheduler_enabled: bool = True
    """Fire agents' cron triggers from this instance (one instance fires each tick, whatever the number)."""
    scheduler_interval_seconds: float = Field(default=15.0, gt=0)
    """How often this instance looks for due ticks."""
    scheduler_minute_seconds: float = Field(default=60.0, ge=1)
    """The scheduler's clock: how many real seconds a cron minute lasts (tests shorten it)."""
