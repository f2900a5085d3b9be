"""A minimal one-node chat graph for LangGraph's agent server: the `chat` node sends the thread's
messages to an OpenAI-compatible model (`OPENAI_BASE_URL`, e.g. the benchmark's fake LLM) and
appends its streamed reply.

Served by `run.sh` as the assistant `chat` (see langgraph.json)."""

from __future__ import annotations

import os
from typing import Any

from langchain_openai import ChatOpenAI
from langgraph.graph import START, MessagesState, StateGraph

model = ChatOpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:9000/v1"),
    api_key="x",
    model=os.environ.get("PEER_MODEL", "gpt-4o-mini"),
    streaming=True,
    max_retries=0,
)


async def chat(state: MessagesState) -> dict[str, Any]:
    return {"messages": [await model.ainvoke(state["messages"])]}


builder = StateGraph(MessagesState)
builder.add_node("chat", chat)
builder.add_edge(START, "chat")
graph = builder.compile()
