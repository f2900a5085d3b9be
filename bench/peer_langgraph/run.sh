#!/usr/bin/env bash
# Serve bench/peer_langgraph/graph.py with LangGraph's agent server in local in-memory mode.
#   bash bench/peer_langgraph/run.sh PORT FAKE_LLM_BASE_URL
#   e.g. bash bench/peer_langgraph/run.sh 8123 http://127.0.0.1:9000/v1
# The venv lives at /tmp/langgraph-peer-venv (created once, reused; $LANGGRAPH_PEER_VENV overrides).
# PEER_JOBS (default 100): runs one worker executes at once (langgraph's own default is 10).
# Nothing leaves the machine: analytics, the version check, LangSmith tracing and the license/metadata
# loop are off (the last runs only with a license key, and none is set).
set -euo pipefail
PORT="${1:?usage: run.sh PORT FAKE_LLM_BASE_URL}"
LLM_URL="${2:?usage: run.sh PORT FAKE_LLM_BASE_URL}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${LANGGRAPH_PEER_VENV:-/tmp/langgraph-peer-venv}"

if [ ! -x "$VENV/bin/langgraph" ] || ! cmp -s "$HERE/requirements.txt" "$VENV/.requirements.txt"; then
  [ -d "$VENV" ] || uv venv -q --python 3.11 "$VENV"
  VIRTUAL_ENV="$VENV" uv pip install -q -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/.requirements.txt"
fi

export OPENAI_BASE_URL="$LLM_URL"
export OPENAI_API_KEY=x
export LANGGRAPH_CLI_NO_ANALYTICS=1
export LANGGRAPH_NO_VERSION_CHECK=true
export LANGSMITH_TRACING=false LANGCHAIN_TRACING_V2=false LANGCHAIN_TRACING=false
unset LANGSMITH_API_KEY LANGCHAIN_API_KEY LANGGRAPH_CLOUD_LICENSE_KEY LANGSMITH_CONTROL_PLANE_API_KEY

# The in-memory runtime pickles its state to ./.langgraph_api every few seconds and reloads it at start:
# run in a fresh directory so each start is empty and nothing is written into the repository.
WORK="$(mktemp -d /tmp/langgraph-peer-run.XXXXXX)"
cp "$HERE/graph.py" "$HERE/langgraph.json" "$WORK/"
cd "$WORK"
exec "$VENV/bin/langgraph" dev --no-browser --no-reload --host 127.0.0.1 --port "$PORT" \
  --config "$WORK/langgraph.json" --server-log-level "${PEER_LOG_LEVEL:-WARNING}" \
  --n-jobs-per-worker "${PEER_JOBS:-100}"
