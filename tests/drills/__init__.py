"""Reliability drills (issue 3, "Measure it"), marked `drill`, run by CI's plain `uv run pytest`.

Each drives a real server over real sockets and asserts what a user sees:

- `test_kill9`: `kill -9` during 20 streams, restart: nothing stays pending/generating, every chat goes on.
- `test_disconnect_storm`: 200 clients leave mid-stream: every run still ends `success` with its full text.
- `test_fuzz_api`: schemathesis over `/openapi.json`: no 5xx, one error shape, responses as documented;
  and Hypothesis hostile values (deep JSON, surrogates, NUL, huge numbers) through every writing
  route, then every read: no 5xx, no read that breaks.
- `test_model_failures`: provider 500 / cut stream / hang: an `error` the user can read, then the chat goes on.
- `test_quiet_stream`: a stream quiet longer than Redis's socket timeout stays open (keep-alives).

Only the drills: `uv run pytest -m drill`.
"""
