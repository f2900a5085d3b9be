"""The Dockerfile and compose.yaml run the commands and settings the tests run. No container
engine runs on the test machines, so this reads both files: every command they run is a command
of the `cargohold` CLI with options it has, and every `CARGOHOLD_*` variable they set is a setting
(`docker build` and `docker compose up` themselves are left to a machine with an engine)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer
import yaml

from cargohold.cli import app
from cargohold.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CLI = typer.main.get_command(app)


def subcommand(group: Any, name: str) -> Any:
    """A command of a group, or None (typer ships its own click: its objects are used as they come)."""
    return group.get_command(group.context_class(group), name)


def resolve(argv: list[str]) -> Any:
    """The CLI command `argv` runs; fails when a command or an option does not exist."""
    command: Any = CLI
    args = list(argv)
    while hasattr(command, "get_command") and args and not args[0].startswith("-"):
        found = subcommand(command, args[0])
        assert found is not None, f"`cargohold {' '.join(argv)}`: no command {args[0]!r}"
        command, args = found, args[1:]
    options = {o for p in command.params for o in p.opts}
    for arg in args:
        if arg.startswith("--"):
            assert arg.split("=")[0] in options, f"`cargohold {' '.join(argv)}`: no option {arg}"
    command.make_context("cargohold", args)  # parses: a missing argument or a bad value fails here
    return command


def check_env(names: list[str]) -> None:
    settings = set(Settings.model_fields)
    for name in names:
        if name.startswith("CARGOHOLD_"):
            assert name.removeprefix("CARGOHOLD_").lower() in settings, f"{name} is not a setting"


def dockerfile_array(text: str, instruction: str) -> list[str]:
    match = re.search(rf"^{instruction} (\[.*\])$", text, re.MULTILINE)
    assert match, instruction
    return json.loads(match.group(1))


def test_the_image_runs_cargohold_serve_as_a_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert dockerfile_array(text, "ENTRYPOINT") == ["cargohold"]
    cmd = dockerfile_array(text, "CMD")
    assert cmd == ["serve", "--host", "0.0.0.0"] and resolve(cmd).name == "serve"
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2  # build stage, runtime stage
    assert "uv sync --locked --no-dev" in text
    check_env(re.findall(r"\b(CARGOHOLD_[A-Z_]+)=", text))
    # The files the build copies exist, and the health check asks a route the server has.
    for copied in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
        for name in copied.split():
            assert (ROOT / name).exists(), name
    assert "/readyz" in text


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_two_replicas_on_postgres_and_redis() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "init", "api"} <= set(services)
    api = services["api"]
    assert api["deploy"]["replicas"] == 2 and api["ports"] == ["127.0.0.1:8000-8001:8000"]
    assert resolve(api["command"]).name == "serve"
    assert resolve(services["init"]["command"]).name == "list"
    assert api["depends_on"]["init"] == {"condition": "service_completed_successfully"}
    env = api["environment"]
    assert env["CARGOHOLD_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert env["CARGOHOLD_REDIS_URL"].startswith("redis://redis:")
    for service in ("init", "api"):
        check_env(list(services[service]["environment"]))
    # The admin commands its header tells an operator to run.
    header = (ROOT / "compose.yaml").read_text()
    commands = re.findall(r"^#\s+docker compose run --rm init ([^#\n]+)", header, re.MULTILINE)
    assert len(commands) == 2
    for line in commands:
        resolve([a if not a.startswith("<") else "00000000-0000-4000-8000-000000000000" for a in line.split()])


def test_the_temporal_block_matches_the_cli_once_it_lands() -> None:
    """The commented Temporal block, uncommented, is valid compose; its worker command is checked
    against the CLI when the CLI has `worker` (another engineer is adding it)."""
    lines = (ROOT / "compose.yaml").read_text().splitlines()
    start = lines.index("  # temporal:")
    block = []
    for line in lines[start:]:
        if not line.startswith("  #"):
            break
        block.append(line.replace("  # ", "  ", 1) if line != "  #" else "")
    services = yaml.safe_load("x-cargohold: &cargohold {}\nx-env: &environment {}\nservices:\n" + "\n".join(block))
    worker = services["services"]["worker"]
    assert worker["command"] == ["worker"]
    assert worker["environment"]["CARGOHOLD_TEMPORAL_ADDRESS"] == "temporal:7233"
    if subcommand(CLI, "worker") is not None:
        resolve(worker["command"])
        check_env(["CARGOHOLD_TEMPORAL_ADDRESS"])
