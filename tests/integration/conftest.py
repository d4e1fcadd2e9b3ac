"""Two complete stacks for the end-to-end tests (issue 3 "Done when"): ``embedded`` (SQLite,
local blobs, tantivy) and ``real`` (MongoDB wire, S3, Elasticsearch API on the servers of
``scripts/test-services``; skipped without them). Jobs run eagerly on both.

Each stack is described twice from the same values: as ``Settings`` for ``create_app`` and as
``KURA_*`` environment variables for the CLI (``Settings()`` reads them)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.config import Settings
from tests.conftest import server_env

ES_SHIM = "tests.support.es_shim:AsyncPlainJsonNode"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Stack:
    name: str
    env: dict[str, str]  # KURA_* variables describing the stack

    def settings(self) -> Settings:
        """The stack's settings, read from ``env`` exactly as the CLI reads them."""
        saved = {k: v for k, v in os.environ.items() if k.startswith("KURA_") and "TEST" not in k}
        try:
            for key in saved:
                del os.environ[key]
            os.environ.update(self.env)
            return Settings()
        finally:
            for key in self.env:
                os.environ.pop(key, None)
            os.environ.update(saved)


def embedded_env(data_dir: Path) -> dict[str, str]:
    return {
        "KURA_DATA_DIR": str(data_dir),
        "KURA_LOG_JSON": "false",
        "KURA_LOG_LEVEL": "WARNING",
        "KURA_JOBS__EAGER": "true",
        "KURA_AUTH__COOKIE_SECURE": "false",
        "KURA_AUTH__ARGON2_TIME_COST": "1",
        "KURA_AUTH__ARGON2_MEMORY_KIB": "8192",
    }


def real_env(data_dir: Path) -> dict[str, str]:
    """The real adapters, each on a fresh database / bucket / index of its own."""
    tag = uuid.uuid4().hex[:12]
    return {
        **embedded_env(data_dir),
        "KURA_RECORDS__BACKEND": "mongodb",
        "KURA_RECORDS__MONGO_URI": server_env("KURA_TEST_MONGO_URI"),
        "KURA_RECORDS__MONGO_DB": f"kura_it_{tag}",
        "KURA_BLOBS__BACKEND": "s3",
        "KURA_BLOBS__S3_ENDPOINT": server_env("KURA_TEST_S3_ENDPOINT").removeprefix("http://"),
        "KURA_BLOBS__S3_ACCESS_KEY": os.environ.get("KURA_TEST_S3_ACCESS_KEY", ""),
        "KURA_BLOBS__S3_SECRET_KEY": os.environ.get("KURA_TEST_S3_SECRET_KEY", ""),
        "KURA_BLOBS__S3_BUCKET": f"kura-it-{tag}",
        "KURA_BLOBS__PART_SIZE": str(5 * MIB),
        "KURA_SEARCH__BACKEND": "elasticsearch",
        "KURA_SEARCH__ES_HOSTS": f'["{server_env("KURA_TEST_ES_URL")}"]',
        "KURA_SEARCH__ES_INDEX": f"kura-it-{tag}",
        "KURA_SEARCH__ES_NODE_CLASS": ES_SHIM,
    }


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.servers)])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Stack:
    data_dir = tmp_path / "data"
    env = embedded_env(data_dir) if request.param == "embedded" else real_env(data_dir)
    return Stack(request.param, env)


@pytest.fixture
def stack_env(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The stack's variables set in the process environment (for the CLI)."""
    for key in list(os.environ):
        if key.startswith("KURA_") and "TEST" not in key:
            monkeypatch.delenv(key)
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    return stack
