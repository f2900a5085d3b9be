"""Where a streamed turn's first chunk spends its time, and what an open stream holds in memory.

A `sitecustomize` for the server under test: put this directory first on its PYTHONPATH through
`bench/load.py`'s `sqlite-before` target (which runs the server with BENCH_BEFORE_SRC as PYTHONPATH):

    PROBE=timeline BENCH_BEFORE_SRC=bench/probe:src uv run python bench/load.py \\
        --targets bare,sqlite-before --scenario 1x200 --tokens 50 --tps 0
    # -> /tmp/cargohold-probe/timeline.txt: p50 offset (ms) of each mark from the request line, and
    #    the event loop thread's CPU time (`time.thread_time`) spent by then; PROBE_FINE=1 adds the
    #    pieces of FastAPI's dependencies, auth, `start_turn`, the run's set-up and the model request

    PROBE=profile BENCH_BEFORE_SRC=bench/probe:src uv run python bench/load.py \\
        --targets bare,sqlite-before --scenario 1x200 --tokens 50 --tps 0
    # -> /tmp/cargohold-probe/profile.txt: cProfile of the event loop's thread from each stream
    #    request's line to its first `text-delta` write (one client: nothing else runs meanwhile).
    #    cProfile counts each resumption of a coroutine as a call, and its deterministic overhead
    #    inflates small functions about 2-3x: read it for where, and the timeline for how much.

    PROBE=memory BENCH_BEFORE_SRC=bench/probe:src uv run python bench/load.py rss \\
        --target sqlite-before --streams 320 --ramp 40 --tokens 16 --tps 0.2 &
    # once /tmp/cargohold-probe/baseline exists (the 20th stream arrived), wait until the streams are
    # open, then: kill -USR2 <pid of `.venv/bin/cargohold serve`>
    # -> /tmp/cargohold-probe/memory.txt: traced allocations alive now minus at the 20th stream, by
    #    file and by line, and a histogram of gc-tracked objects

Timeline marks: the request line, headers and body (uvicorn's httptools protocol), then the entry
(`>`) and exit (`<`) of auth, `start_turn`, each `AsyncSession.execute`, the publisher, the run, its
tools, model resolution, `write_turn`, the gate (`before_model_request`), the model's HTTP send,
the response start and the first socket write that holds a `text-delta`. The probe itself adds about 1-2 ms. Measurement only:
never installed with the server.
"""

from __future__ import annotations

import os

MODE = os.environ.get("PROBE", "")
OUT = "/tmp/cargohold-probe"

if MODE in ("timeline", "memory", "profile"):
    import atexit
    import contextvars
    import cProfile
    import functools
    import gc
    import inspect
    import pstats
    import signal
    import statistics
    import sys
    import threading
    import time
    import tracemalloc
    from collections import Counter
    from typing import Any

    os.makedirs(OUT, exist_ok=True)
    _open: dict[int, list[tuple[str, float, float]]] = {}
    _done: list[list[tuple[str, float, float]]] = []
    _current: contextvars.ContextVar[int | None] = contextvars.ContextVar("probe_request", default=None)
    _count = [0]

    def _mark(label: str, rid: int | None = None) -> None:
        rid = rid if rid is not None else _current.get()
        if rid is not None and rid in _open:
            _open[rid].append((label, time.perf_counter(), time.thread_time()))

    def _dump_timeline(*_: Any) -> None:
        offsets: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        for marks in _done:
            (_, start, start_cpu), seen = marks[0], set()
            for label, at, at_cpu in marks:
                if label not in seen:
                    seen.add(label)
                    offsets.setdefault(label, []).append((at - start) * 1000)
                    cpu.setdefault(label, []).append((at_cpu - start_cpu) * 1000)
        with open(f"{OUT}/timeline.txt", "a") as out:
            out.write(f"--- {len(_done)} requests\n")
            for label in sorted(offsets, key=lambda k: statistics.median(offsets[k])):
                at, on_cpu = statistics.median(offsets[label]), statistics.median(cpu[label])
                out.write(
                    f"{label:28s} p50 {at:7.2f} ms  loop thread's CPU {on_cpu:7.2f} ms  n={len(offsets[label])}\n"
                )

    def _patch_uvicorn() -> None:
        import uvicorn.protocols.http.httptools_impl as impl

        on_url, on_headers = impl.HttpToolsProtocol.on_url, impl.HttpToolsProtocol.on_headers_complete
        send = impl.RequestResponseCycle.send

        def probed_on_url(self: Any, url: bytes) -> None:
            self._probe = None
            if b"/messages/stream" in url and self.parser.get_method() == b"POST":
                _count[0] += 1
                if MODE == "memory" and _count[0] == 20:
                    gc.collect()
                    _snapshots["baseline"] = tracemalloc.take_snapshot()
                    open(f"{OUT}/baseline", "w").close()
                if MODE in ("timeline", "profile"):
                    self._probe = _count[0]
                    _open[self._probe] = [("url", time.perf_counter(), time.thread_time())]
                if MODE == "profile" and _count[0] > 20:
                    _profile.enable()
            on_url(self, url)

        def probed_on_headers(self: Any) -> None:
            rid = getattr(self, "_probe", None)
            if rid is None:
                on_headers(self)
                return
            _mark("headers", rid)
            token = _current.set(rid)  # the request's task is created here and copies the context
            try:
                on_headers(self)
            finally:
                _current.reset(token)

        async def probed_send(self: Any, message: Any) -> None:
            rid = _current.get()
            if rid is not None and message["type"] == "http.response.start":
                _mark("response_start")
            elif rid is not None and message["type"] == "http.response.body" and b"text-delta" in message["body"]:
                _mark("socket_write_text_delta")
                if MODE == "profile":
                    _profile.disable()
                marks = _open.pop(rid, None)
                if marks:
                    _done.append(marks)
            await send(self, message)

        impl.HttpToolsProtocol.on_url = probed_on_url  # type: ignore[method-assign]
        impl.HttpToolsProtocol.on_headers_complete = probed_on_headers  # type: ignore[method-assign]
        impl.RequestResponseCycle.send = probed_send  # type: ignore[method-assign]

    _TIMED = (
        ("cargohold.api.deps", "authenticate", "auth"),
        ("cargohold.services.messages", "start_turn", "start_turn"),
        ("sqlalchemy.ext.asyncio.session", "AsyncSession.execute", "execute"),
        ("cargohold.stream.publisher", "StreamPublisher.open", "publisher_open"),
        ("cargohold.jobs.turn_run", "TurnRun.run", "run"),
        ("cargohold.jobs.turn_run", "TurnRun._tools", "tools"),
        ("cargohold.runtime.models", "ModelRegistry.resolve", "resolve"),
        ("cargohold.jobs.turn_run", "write_turn", "write_turn"),
        ("httpx2", "AsyncClient.send", "model_send"),
        ("cargohold.runtime.agent", "_TurnHooks.before_model_request", "gate"),
    )

    _FINE = (  # PROBE_FINE=1: the pieces of auth, `start_turn` and the run's set-up too
        ("cargohold.services.messages", "_check_parts", "check_parts"),
        ("cargohold.services.messages", "_effective_config", "config"),
        ("cargohold.services.messages", "turn_choice", "turn_choice"),
        ("cargohold.store.chats", "new_chat", "new_chat"),
        ("cargohold.store.messages", "new_message", "new_message"),
        ("cargohold.services.messages", "StreamPublisher", "publisher_init"),
        ("cargohold.jobs.turn_run", "to_model_messages", "history"),
        ("cargohold.jobs.turn_run", "build_agent", "build_agent"),
        ("cargohold.jobs.turn_run", "guard_tools", "guard_tools"),
        ("cargohold.store.workspaces", "hash_token", "hash_token"),
        ("cargohold.api.deps", "authenticate", "authenticate"),
        ("pydantic_ai.models.openai._chat_model", "OpenAIChatModel._completions_create", "completions_create"),
        ("pydantic_ai._agent_graph", "ModelRequestNode._prepare_request", "prepare_request"),
        ("fastapi.routing", "solve_dependencies", "fastapi_dependencies"),
        ("fastapi.routing", "run_endpoint_function", "endpoint"),
    )

    def _time_coroutines() -> None:
        for module, qualname, label in (*_TIMED, *(_FINE if os.environ.get("PROBE_FINE") else ())):
            owner: Any = sys.modules[module]
            *path, name = qualname.split(".")
            for attr in path:
                owner = getattr(owner, attr)
            original = getattr(owner, name)

            def timed(original: Any = original, label: str = label) -> Any:
                if not inspect.iscoroutinefunction(original):

                    @functools.wraps(original)
                    def plain(*args: Any, **kwargs: Any) -> Any:
                        _mark(f"{label}>")
                        try:
                            return original(*args, **kwargs)
                        finally:
                            _mark(f"{label}<")

                    return plain

                @functools.wraps(original)
                async def wrapper(*args: Any, **kwargs: Any) -> Any:
                    _mark(f"{label}>")
                    try:
                        return await original(*args, **kwargs)
                    finally:
                        _mark(f"{label}<")

                return wrapper

            setattr(owner, name, timed())

    _snapshots: dict[str, tracemalloc.Snapshot] = {}
    _profile = cProfile.Profile()

    def _dump_profile(*_: Any) -> None:
        with open(f"{OUT}/profile.txt", "w") as out:
            out.write(f"stream requests profiled: {len(_done) - 20} (the first 20 are warm-up)\n")
            stats = pstats.Stats(_profile, stream=out)
            stats.sort_stats("tottime").print_stats(60)
            stats.sort_stats("cumulative").print_stats(150)

    def _dump_memory(*_: Any) -> None:
        gc.collect()
        now = tracemalloc.take_snapshot()
        ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
        now, before = now.filter_traces(ignore), _snapshots["baseline"].filter_traces(ignore)
        with open(f"{OUT}/memory.txt", "w") as out:
            out.write(f"stream requests seen: {_count[0]} (baseline at the 20th)\n")
            total = sum(stat.size_diff for stat in now.compare_to(before, "filename"))
            out.write(f"traced allocations alive, difference: {total / 1024:.0f} KiB\n")
            for key in ("filename", "lineno"):
                out.write(f"=== by {key}\n")
                for stat in now.compare_to(before, key)[:45]:
                    out.write(f"{stat.size_diff / 1024:9.1f} KiB {stat.count_diff:7d}  {stat.traceback}\n")
            out.write("=== gc-tracked objects now\n")
            for kind, n in Counter(type(o).__name__ for o in gc.get_objects()).most_common(40):
                out.write(f"{n:8d} {kind}\n")

    def _install_when_loaded() -> None:
        # The server imports these modules after this file runs: wait for them, then patch.
        needed = ("cargohold.jobs.turn_run", "cargohold.api.deps", "uvicorn.protocols.http.httptools_impl")
        for _ in range(1200):
            if all(name in sys.modules for name in needed) and "httpx2" in sys.modules:
                time.sleep(0.5)
                _patch_uvicorn()
                if MODE == "timeline":
                    _time_coroutines()
                return
            time.sleep(0.1)

    if MODE == "timeline":
        atexit.register(_dump_timeline)
        signal.signal(signal.SIGTERM, lambda *_: (_dump_timeline(), os._exit(0)))
    elif MODE == "profile":
        atexit.register(_dump_profile)
        signal.signal(signal.SIGTERM, lambda *_: (_dump_profile(), os._exit(0)))
    else:
        tracemalloc.start(1)
        signal.signal(signal.SIGUSR2, _dump_memory)
    threading.Thread(target=_install_when_loaded, daemon=True).start()
