# cargohold: the API server image. Two stages: uv builds the locked environment, the runtime stage
# copies it alone and runs as a non-root user. What it runs is what the tests run:
#   cargohold serve --host 0.0.0.0        (tests/test_cli.py, tests/serve_process.py)
# Build: docker build -t cargohold .     Run: see compose.yaml and the README's "Run it in containers".

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first (a layer that changes only with uv.lock), then the project itself.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev --no-install-project
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev --no-editable

FROM python:${PYTHON_VERSION}-slim-bookworm
# bubblewrap: the sandbox of model-written code (the code interpreter), as on the CI machine.
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 cargohold \
    && useradd --system --uid 10001 --gid cargohold --home-dir /data --create-home cargohold
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CARGOHOLD_DATA_DIR=/data \
    CARGOHOLD_LOG_FORMAT=json
USER cargohold
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
ENTRYPOINT ["cargohold"]
CMD ["serve", "--host", "0.0.0.0"]
