from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.config import Settings
from tests.auth.harness import Harness, harness
from tests.support.smtp import SmtpSink, make_tls
from workers.celery_app import set_container


@pytest.fixture
def tls(tmp_path: Path) -> tuple[object, Path]:
    return make_tls(tmp_path)


@pytest.fixture
def relay(tls: tuple[object, Path]) -> Iterator[SmtpSink]:
    """A real SMTP relay on loopback: STARTTLS required, AUTH required."""
    context, _ = tls
    sink = SmtpSink(tls=context, require_starttls=True, users={"kura": "relay-secret-1"})  # type: ignore[arg-type]
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_settings(settings: Settings, relay: SmtpSink, tls: tuple[object, Path]) -> Settings:
    return settings.model_copy(
        update={
            "mail": settings.mail.model_copy(
                update={
                    "transport": "smtp",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": relay.port,
                    "smtp_security": "starttls",
                    "smtp_username": "kura",
                    "smtp_password": SecretStr("relay-secret-1"),
                    "smtp_ca_file": tls[1],
                    "from_address": "kura@city.example.jp",
                    "smtp_timeout_s": 5.0,
                }
            )
        }
    )


@asynccontextmanager
async def _harness(settings: Settings) -> AsyncIterator[Harness]:
    # Eager tasks (mail.flush after commit) use this container and its fixed clock.
    async with harness(settings) as the_harness:
        set_container(the_harness.container)
        try:
            yield the_harness
        finally:
            set_container(None)


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with _harness(settings) as the_harness:
        yield the_harness


@pytest.fixture
async def hs(smtp_settings: Settings) -> AsyncIterator[Harness]:
    async with _harness(smtp_settings) as the_harness:
        yield the_harness
