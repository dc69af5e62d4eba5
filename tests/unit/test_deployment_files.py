"""Structural checks on the deployment files (Dockerfile, docker-compose.yml, .dockerignore).

These pin down what an operator relies on: which services exist, how they reach
PostgreSQL/Redis, start-up ordering, persistence, health checks and the image's
runtime contract. No Docker engine is needed.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

APP_SERVICES = ("migrate", "web", "worker", "scheduler")
INFRA_SERVICES = ("postgres", "redis")
APP_COMMANDS = {
    "migrate": ["chatcart", "migrate"],
    "web": ["chatcart", "serve"],
    "worker": ["chatcart", "worker"],
    "scheduler": ["chatcart", "scheduler"],
}
LONG_RUNNING = ("web", "worker", "scheduler")


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    svcs = compose.get("services")
    assert isinstance(svcs, dict)
    return svcs


def _command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command")
    if cmd is None:
        return []
    if isinstance(cmd, str):
        return shlex.split(cmd)
    return [str(part) for part in cmd]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {key: value for key, _, value in (str(item).partition("=") for item in env)}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _build_context(service: dict[str, Any]) -> str | None:
    build = service.get("build")
    if isinstance(build, str):
        return build
    if isinstance(build, dict):
        return str(build.get("context", "."))
    return None


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):  # short form means "service_started"
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _named_volumes(service: dict[str, Any]) -> list[str]:
    names = []
    for vol in service.get("volumes") or []:
        source = vol.get("source", "") if isinstance(vol, dict) else vol.split(":", 1)[0]
        if source and not source.startswith((".", "/", "~")):
            names.append(source)
    return names


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    buffer = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if buffer and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            keyword, _, args = buffer.strip().partition(" ")
            instructions.append((keyword.upper(), args.strip()))
        buffer = ""
    return instructions


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    return instructions[last_from:]


# --------------------------------------------------------------------------- compose


def test_compose_has_no_obsolete_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose


def test_all_services_exist(services: dict[str, Any]) -> None:
    assert set(APP_SERVICES + INFRA_SERVICES) <= set(services)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_builds_from_repo(services: dict[str, Any], name: str) -> None:
    context = _build_context(services[name])
    assert context is not None, f"{name} must build the image from this repo"
    assert (REPO_ROOT / context).resolve() == REPO_ROOT


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_points_at_compose_postgres_and_redis(
    services: dict[str, Any], name: str
) -> None:
    env = _environment(services[name])
    assert env.get("DATABASE_URL", "").startswith("postgresql://"), name
    assert "@postgres:5432/" in env["DATABASE_URL"], name
    assert env.get("REDIS_URL", "").startswith("redis://redis:6379"), name
    # No silent fallback to embedded PostgreSQL/Redis inside containers.
    assert env.get("CHATCART_EMBEDDED") == "0", name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_reads_optional_env_file(services: dict[str, Any], name: str) -> None:
    env_files = services[name].get("env_file")
    assert isinstance(env_files, list)
    entries = [e for e in env_files if isinstance(e, dict) and e.get("path") == ".env"]
    assert entries, f"{name}: .env should be listed in the long form"
    assert entries[0].get("required") is False


@pytest.mark.parametrize(("name", "expected"), sorted(APP_COMMANDS.items()))
def test_app_service_command(services: dict[str, Any], name: str, expected: list[str]) -> None:
    assert _command(services[name]) == expected


def test_web_listens_on_all_interfaces(services: dict[str, Any]) -> None:
    assert _environment(services["web"]).get("HOST") == "0.0.0.0"


@pytest.mark.parametrize("name", INFRA_SERVICES)
def test_infra_service_has_healthcheck(services: dict[str, Any], name: str) -> None:
    healthcheck = services[name].get("healthcheck") or {}
    assert healthcheck.get("test"), name
    assert not healthcheck.get("disable", False), name


def test_infra_healthcheck_commands(services: dict[str, Any]) -> None:
    pg_test = services["postgres"]["healthcheck"]["test"]
    pg_text = pg_test if isinstance(pg_test, str) else " ".join(pg_test)
    assert "pg_isready" in pg_text
    assert "chatcart" in pg_text
    redis_test = services["redis"]["healthcheck"]["test"]
    redis_text = redis_test if isinstance(redis_test, str) else " ".join(redis_test)
    assert "redis-cli ping" in redis_text


@pytest.mark.parametrize(("name", "volume"), [("postgres", "pgdata"), ("redis", "redisdata")])
def test_infra_data_on_declared_named_volume(
    compose: dict[str, Any], services: dict[str, Any], name: str, volume: str
) -> None:
    assert volume in _named_volumes(services[name])
    declared = compose.get("volumes") or {}
    for used in _named_volumes(services[name]):
        assert used in declared, f"volume {used!r} used by {name} is not declared"


def test_postgres_credentials(services: dict[str, Any]) -> None:
    env = _environment(services["postgres"])
    assert env["POSTGRES_USER"] == env["POSTGRES_PASSWORD"] == env["POSTGRES_DB"] == "chatcart"


def test_redis_has_appendonly(services: dict[str, Any]) -> None:
    cmd = _command(services["redis"])
    assert "--appendonly" in cmd
    assert cmd[cmd.index("--appendonly") + 1] == "yes"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_wait_for_healthy_infra_and_migrations(
    services: dict[str, Any], name: str
) -> None:
    deps = _depends_on(services[name])
    assert deps.get("postgres") == "service_healthy", name
    assert deps.get("redis") == "service_healthy", name
    assert deps.get("migrate") == "service_completed_successfully", name


def test_migrate_runs_once_after_postgres(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert _depends_on(migrate).get("postgres") == "service_healthy"
    assert str(migrate.get("restart")) == "no"


def test_only_web_publishes_a_port(services: dict[str, Any]) -> None:
    publishing = {name for name, svc in services.items() if svc.get("ports")}
    assert publishing == {"web"}
    assert any("8000:8000" in str(port) for port in services["web"]["ports"])


def test_web_healthcheck_uses_readiness(services: dict[str, Any]) -> None:
    test = services["web"]["healthcheck"]["test"]
    text = test if isinstance(test, str) else " ".join(test)
    assert "/health/ready" in text
    assert "urllib" in text


@pytest.mark.parametrize("name", ["worker", "scheduler", "migrate"])
def test_non_http_services_do_not_inherit_http_healthcheck(
    services: dict[str, Any], name: str
) -> None:
    # The image's HEALTHCHECK probes /health/live; these roles serve no HTTP.
    healthcheck = services[name].get("healthcheck")
    assert healthcheck, f"{name} must disable or override the image HEALTHCHECK"
    assert healthcheck.get("disable") is True or "/health/live" not in str(healthcheck)


def test_graceful_stop_periods(services: dict[str, Any]) -> None:
    assert services["web"].get("stop_grace_period") == "30s"
    assert services["worker"].get("stop_grace_period") == "60s"


def test_single_scheduler(services: dict[str, Any]) -> None:
    replicas = (services["scheduler"].get("deploy") or {}).get("replicas", 1)
    assert replicas == 1
    assert services["scheduler"].get("scale", 1) == 1


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_is_multi_stage_slim() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    froms = [args for kw, args in _dockerfile_instructions() if kw == "FROM"]
    assert len(froms) >= 2
    assert "python:3.11-slim" in text


def test_dockerfile_installs_from_lock_file_frozen() -> None:
    runs = [args for kw, args in _dockerfile_instructions() if kw == "RUN"]
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs, "expected `uv sync` in the builder"
    assert all("--frozen" in run for run in syncs)
    assert all("--no-dev" in run for run in syncs)
    copies = [args for kw, args in _dockerfile_instructions() if kw == "COPY"]
    assert any("uv.lock" in c and "pyproject.toml" in c for c in copies)


def test_final_stage_runs_as_non_root_user() -> None:
    users = [args for kw, args in _final_stage() if kw == "USER"]
    assert users, "final stage must set USER"
    user = users[-1].split(":", 1)[0]
    assert user not in {"root", "0"}


def test_final_stage_copies_venv_and_runtime_files() -> None:
    copies = " ".join(args for kw, args in _final_stage() if kw == "COPY")
    assert "--from=builder" in copies
    assert "/app/.venv" in copies
    for needed in ("app/", "migrations/", "piccolo_conf.py", "schema.graphql"):
        assert needed in copies, needed


def test_final_stage_environment() -> None:
    env = " ".join(args for kw, args in _final_stage() if kw == "ENV")
    for setting in ("PYTHONUNBUFFERED=1", "HOST=0.0.0.0", "PORT=8000", "CHATCART_EMBEDDED=0"):
        assert setting in env, setting
    assert "/app/.venv/bin" in env
    assert any(kw == "EXPOSE" and "8000" in args.split() for kw, args in _final_stage())


def test_final_cmd_is_exec_form_chatcart_serve() -> None:
    cmds = [args for kw, args in _final_stage() if kw == "CMD"]
    assert cmds, "final stage must have a CMD"
    assert json.loads(cmds[-1]) == ["chatcart", "serve"]
    # An ENTRYPOINT in shell form would wrap CMD in /bin/sh -c and swallow SIGTERM.
    for kw, args in _final_stage():
        if kw == "ENTRYPOINT":
            assert args.startswith("[")


def test_healthcheck_exists() -> None:
    checks = [args for kw, args in _final_stage() if kw == "HEALTHCHECK"]
    assert checks
    assert checks[-1].strip().upper() != "NONE"
    assert "/health/live" in checks[-1]
    assert "urllib" in checks[-1]


def test_dockerignore_keeps_local_state_out_but_not_runtime_files() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for ignored in (".venv", ".git", ".chatcart", ".env"):
        assert ignored in patterns, ignored
    for needed in (
        "app",
        "migrations",
        "pyproject.toml",
        "uv.lock",
        "README.md",
        "piccolo_conf.py",
        "schema.graphql",
    ):
        assert needed not in patterns, needed
        assert f"{needed}/" not in patterns, needed


# --------------------------------------------------------------------------- docker CLI


def _compose_plugin_missing(output: str) -> bool:
    # e.g. "docker: unknown command: docker compose" (28.x) or
    # "docker: 'compose' is not a docker command." (older clients)
    return "compose" in output and (
        "unknown command" in output or "is not a docker command" in output
    )


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker client not on PATH")
def test_docker_compose_config_validates() -> None:
    # Ask the plugin first, without flags: when the plugin is missing, the client
    # parses flags such as -f itself and reports a misleading "unknown shorthand flag".
    probe = subprocess.run(
        ["docker", "compose", "version"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    probe_output = (probe.stdout + probe.stderr).strip()
    if probe.returncode != 0 and _compose_plugin_missing(probe_output):
        pytest.skip(f"docker compose plugin is missing: {probe_output}")

    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr).strip()
