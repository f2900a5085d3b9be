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

    # --- connectors (issue 10): credentials each workspace brings ---------------------------------
    server_keys: bool = True
    """Whether turns without a connector may run on the server's own provider keys
    (`CARGOHOLD_OPENAI_API_KEY`, ...). `false`: each workspace must bring its own (a connector)."""
    gemini_api_key: SecretStr | None = None
    """The server's Gemini API key (integration `gemini`), used when a workspace has no connector."""
    gemini_base_url: str | None = None
    sqlite_connector_dirs: str = ""
    """Directories whose SQLite files a workspace may attach as a `sqlite` connector, comma-separated.
    Unset: `sqlite` connectors are refused over the API (a path could name any file on the host)."""
    credits_per_usd: float = 100.0
    """A connector turn's credits when no price table names its model: the model's list price
    (`genai-prices`) in USD times this."""
    connector_models_ttl_seconds: float = 300.0
    """How long a connector's model list (its provider's `/models`) is kept before it is asked again."""

    # --- Files and knowledge (issue 12): uploads, the blob store, background indexing ---
    files_dir: Path | None = None
    """Where uploaded files' bytes are kept when no S3 bucket is set. Unset: `files/` in `data_dir`."""
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    """The largest file an upload may carry, in bytes: past it a 413 `payloadTooLarge`, counted while
    the upload streams in, nothing stored."""
    s3_bucket: str | None = None
    """Keep files' bytes in this S3 bucket (any S3-compatible store) instead of `files_dir`."""
    s3_endpoint_url: str | None = None
    """The S3-compatible endpoint (MinIO, R2, ...): e.g. `http://minio:9000`. Unset: AWS S3."""
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_prefix: str = "cargohold/"
    """Prepended to every object key the server writes in the bucket."""
    index_concurrency: int = Field(default=2, ge=0, le=64)
    """Files indexed at once by this replica (extraction and embedding run off the event loop).
    0: this replica indexes nothing (another does)."""
    index_poll_seconds: float = Field(default=5.0, gt=0)
    """How often the indexer looks for work it was not told about (other replicas' uploads)."""
    index_lease_seconds: float = Field(default=120.0, gt=0)
    """A file being indexed renews its claim every third of this; a claim older than this (its
    replica died) is taken over, so a file is indexed once and never left `indexing`."""

    @property
    def blob_dir(self) -> Path:
        return (self.files_dir or self.data_dir / "files").expanduser()

    # Knowledge (issue 12): extraction, embeddings, the hybrid index (src/cargohold/knowledge/).
    embeddings_url: str | None = None
    """An OpenAI-compatible embeddings API (`https://api.openai.com/v1`, `http://ollama:11434/v1`).
    Unset: all-MiniLM-L6-v2 runs locally (no network, no key). Changing the model reindexes."""
    embeddings_model: str | None = None
    """The model asked of `embeddings_url` (default `text-embedding-3-small`)."""
    embeddings_api_key: SecretStr | None = None
    embeddings_dimensions: int | None = Field(default=None, ge=1)
    """Ask `embeddings_url` for vectors of this length (models that can shorten them); unset: theirs."""
    embeddings_batch_size: int = Field(default=32, ge=1, le=2048)
    """Texts embedded per forward pass (local) or per request (remote)."""
    knowledge_chunk_tokens: int = Field(default=800, ge=50)
    """Chunks hold about this many tokens (counted with the embedding model's tokenizer)."""
    knowledge_chunk_overlap: int = Field(default=200, ge=0)
    """Tokens a chunk repeats from the end of the one before it (same place in the file only)."""
    knowledge_max_uncompressed_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    """An office file (docx, xlsx, pptx: zip archives) inflating past this is refused (zip bombs)."""
    knowledge_max_zip_entries: int = Field(default=5000, ge=1)
    """An office file with more archive entries than this is refused."""
    knowledge_vector_cache_rows: int = Field(default=500_000, ge=0)
    """Vectors kept in memory for search across workspaces (least recently searched evicted first):
    about 1.5 KB each at 384 dimensions. A workspace larger than this is searched from the database."""

    # --- issue 14: capabilities (memory, document, suggestedActions) ---
    memory_inject_count: int = Field(default=5, ge=0, le=50)
    """How many memories (the most relevant to the user's message) the `memory` capability gives the
    model at the start of each turn; 0 gives none (the tools stay)."""
    memory_duplicate_similarity: float = Field(default=0.9, gt=0.0, le=1.0)
    """With an embedder, a saved fact this similar (cosine) to a kept one updates it instead of adding a copy."""

    # --- webSearch and codeInterpreter capabilities (issue 14) ---
    searxng_url: str | None = None
    """A SearXNG instance for the `webSearch` capability (its JSON API, `/search?format=json`, must
    be enabled). The address goes through the outbound guard like any other."""
    brave_api_key: SecretStr | None = None
    """Brave Search API key for `webSearch`."""
    tavily_api_key: SecretStr | None = None
    """Tavily API key for `webSearch`."""
    brave_url: str = "https://api.search.brave.com"
    """Brave Search API base (`/res/v1/web/search` is appended)."""
    tavily_url: str = "https://api.tavily.com"
    """Tavily API base (`/search` is appended)."""
    web_search_provider: Literal["auto", "searxng", "brave", "tavily", "native"] = "auto"
    """Which search `webSearch` uses. `auto`: SearXNG, then Brave, then Tavily, whichever is
    configured first. `native`: the model's own search (pydantic-ai's `WebSearchTool`), for
    Anthropic and Gemini models (OpenAI's `*-search-preview` chat models); other models are a 400."""
    web_search_max_results: int = Field(default=5, ge=1, le=20)
    """Results one `web_search` call returns."""
    fetch_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    """`fetch_url` reads at most this many bytes of a page; the rest is not read."""
    fetch_timeout: float = 15.0
    """Seconds one `fetch_url` call may take, redirects included."""
    fetch_max_chars: int = Field(default=20_000, ge=500)
    """Characters of readable text `fetch_url` gives the model (the page's start)."""
    sandbox_python: Path | None = None
    """The Python environment (a venv directory) `run_python` runs in, bound read-only. Default:
    the server's own environment (which holds numpy and pandas)."""
    sandbox_dir: Path | None = None
    """Where each chat's working directory lives (`<dir>/<workspace>/<chat>`). Default:
    `data_dir/sandbox`."""
    sandbox_cpu_seconds: int = Field(default=10, ge=1)
    """CPU seconds one `run_python` call may use (RLIMIT_CPU)."""
    sandbox_wall_seconds: float = Field(default=30.0, gt=0)
    """Seconds one `run_python` call may take before its sandbox is killed."""
    sandbox_memory_mb: int = Field(default=1024, ge=64)
    """Address space of the sandboxed process, in MB (RLIMIT_AS): a larger allocation is a MemoryError."""
    sandbox_max_processes: int = Field(default=32, ge=1)
    """Processes (and threads) a sandbox may have at once (RLIMIT_NPROC)."""
    sandbox_max_file_mb: int = Field(default=50, ge=1)
    """The largest file a sandbox may write, in MB (RLIMIT_FSIZE)."""
    sandbox_max_output_bytes: int = Field(default=20_000, ge=100)
    """Bytes of stdout (and, separately, of stderr) one call returns; the rest is read and dropped."""
    sandbox_max_dir_mb: int = Field(default=200, ge=1)
    """The most a chat's working directory may hold, in MB (and at most 1,000 files): a call that
    leaves it larger has the files it wrote removed, and says so."""
    sandbox_inline_file_bytes: int = Field(default=256 * 1024, ge=0)
    """Files a call writes up to this size come back as `file` parts (data URLs); larger ones are
    listed in `files` only."""

    # --- operations (issue 15, item 6) ---
    otlp_endpoint: str | None = None
    """An OpenTelemetry collector's OTLP/HTTP base URL (`http://collector:4318`): traces of turns
    (agent run, model requests, tool calls; no content) are sent there. Unset: the standard
    `OTEL_EXPORTER_OTLP_ENDPOINT` when set, else no tracing."""

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
