"""`GET /metrics` as Prometheus scrapes it: after a real turn it shows the request by its route
template, the turn by status, its time to first chunk and duration, its tokens and credits by
model, and the open streams going up while a stream is read and back down when it ends.

The registry is the process's, shared by every server a test run starts: the tests compare
values before and after."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from cargohold.settings import Settings
from cargohold.store.workspaces import create_token, create_workspace

from ..harness import Server, StreamReader, start_server, stream_body, wait_until

Labels = dict[str, str]


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def tenant_client(srv: Server) -> httpx.AsyncClient:
    async with srv.state.sessions() as session, session.begin():
        _, user = await create_workspace(session, "metrics")
        token = await create_token(session, user)
    return httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


class TestMetrics:
    async def test_a_turn_shows_up(self, make_settings: Callable[..., Settings]) -> None:
        settings = make_settings(default_model="offline:offline", offline_token_delay=0.05)
        async with start_server(settings) as srv, await tenant_client(srv) as client:
            before = await scrape(client)
            route = "/v1/ai/messages/stream"
            async with client.stream("POST", route, json=stream_body(text="tell me a story")) as response:
                assert response.status_code == 200
                reader = StreamReader(response)
                await reader.until(3)
                during = await scrape(client)  # the stream is open now
                assert sample(during, "cargohold_open_streams") == sample(before, "cargohold_open_streams") + 1
                await reader.rest()
            assert reader.chunks[-1] == "[DONE]"

            async def turn_counted() -> bool:  # the run finishes, and the response ends, just after [DONE]
                now = await scrape(client)
                done = sample(now, "cargohold_turns_total", status="success")
                closed = sample(now, "cargohold_open_streams") == sample(before, "cargohold_open_streams")
                return closed and done > sample(before, "cargohold_turns_total", status="success")

            await wait_until(turn_counted)
            after = await scrape(client)

            def grew(name: str, **labels: str) -> float:
                return sample(after, name, **labels) - sample(before, name, **labels)

            assert grew("cargohold_turns_total", status="success") == 1
            assert grew("cargohold_turn_duration_seconds_count", status="success") == 1
            assert grew("cargohold_turn_duration_seconds_sum", status="success") > 0
            assert grew("cargohold_turn_first_chunk_seconds_count", model="offline") == 1
            assert grew("cargohold_tokens_total", model="offline", kind="input") > 0
            assert grew("cargohold_tokens_total", model="offline", kind="output") > 0
            assert grew("cargohold_credits_total", model="offline") > 0
            assert grew("cargohold_broker_lag_seconds_count") >= 2  # the start chunk, then the text
            assert grew("cargohold_broker_lag_seconds_sum") > 0
            assert grew("cargohold_http_requests_total", method="POST", route=route, status="200") == 1

            message_id = reader.chunks[0]["messageId"]
            await client.get(f"/v1/ai/messages/{message_id}")  # a path with an id: counted by its template
            await client.get("/no/such/path/123")
            final = await scrape(client)
            template = "/v1/ai/messages/{uuid}"
            assert sample(final, "cargohold_http_requests_total", route=template) >= 1
            assert sample(final, "cargohold_http_requests_total", route="<unmatched>", status="404") >= 1
            assert message_id not in final and "/no/such/path" not in final  # no ids or raw paths as labels
