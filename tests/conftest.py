"""Shared fixtures: embedded settings in a temp folder, and the real test servers.

The real servers (``scripts/test-services start``) are announced by ``KURA_TEST_SERVERS=1``
and the ``KURA_TEST_*`` addresses it prints. Without it, tests marked ``servers`` are skipped;
with it, an unreachable server is a failure, never a skip, so CI cannot pass silently.
``tests.support.strict_skips``: under ``KURA_TEST_STRICT=1`` (scripts/test) any skip fails.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from api.config import Settings

pytest_plugins = ("tests.support.strict_skips",)


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (scripts/test runs one worker per core) each worker gets a Redis
    database of its own: tests purge the broker and read its queues, so two workers on one
    database would steal each other's jobs. Worker ``gwN`` uses the given database + N."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("KURA_TEST_REDIS_URL", "")
    if worker.startswith("gw") and url:
        base, _, db = url.rpartition("/")
        number = int(db or 0) + int(worker[2:])
        if number > 15:
            raise pytest.UsageError(f"Redis has no database {number} for worker {worker}")
        os.environ["KURA_TEST_REDIS_URL"] = f"{base}/{number}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded-default settings isolated in a temp folder; cheap argon2 for speed."""
    return Settings(
        data_dir=tmp_path / "data",
        log_json=False,
        jobs={"eager": True},
        auth={
            "cookie_secure": False,
            "argon2_time_cost": 1,
            "argon2_memory_kib": 8192,
        },
    )


def servers_enabled() -> bool:
    return os.environ.get("KURA_TEST_SERVERS") == "1"


def server_env(name: str) -> str:
    """An address of a real test server; skips when servers are off, fails when unreachable."""
    if not servers_enabled():
        pytest.skip("real test servers not started (scripts/test-services start)")
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set although KURA_TEST_SERVERS=1")
    return value


def require_port(host_port: str) -> None:
    host, _, port = host_port.rpartition(":")
    try:
        socket.create_connection((host, int(port)), 2).close()
    except OSError as exc:
        pytest.fail(f"test server {host_port} unreachable: {exc}")


@pytest.fixture
def tmp_data(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path
