from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.config import Settings
from api.container import Container
from api.deps import optional_subject
from api.permissions.policy import Subject
from api.uploads.limits import Limits, limits_of
from tests.uploads.support import API
from tests.works.harness import CLERK, Harness, Who, seed, work_body

TUS = {"Tus-Resumable": "1.0.0"}


@dataclass
class UploadHarness(Harness):
    async def work(self, subject: Subject = CLERK, **over: Any) -> dict[str, Any]:
        """A work in progress (files may be added) created by ``subject`` (its supervisor)."""
        work = await self.create(subject, **over)
        resp = await self.call(
            subject,
            "POST",
            f"{API}/works/{work['id']}/transition",
            json={"to": "in_progress", "version": work["version"]},
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body


def set_limits(monkeypatch: pytest.MonkeyPatch, **values: Any) -> Limits:
    """Smaller limits for a test (what ``KURA_ARCHIVE__...`` settings would give)."""
    limits = replace(limits_of(Settings()), **values)
    monkeypatch.setattr("api.uploads.service.limits_of", lambda _settings: limits)
    monkeypatch.setattr("api.uploads.multipart.limits_of", lambda _settings: limits)
    return limits


@pytest.fixture
async def uh(settings: Settings) -> AsyncIterator[UploadHarness]:
    async with upload_harness(settings) as h:
        yield h


class upload_harness:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __aenter__(self) -> UploadHarness:
        self.container = Container(self.settings)
        await self.container.open()
        await seed(self.container)
        app = create_app(container=self.container)
        who = Who()

        async def as_who() -> Subject | None:
            return who.subject

        app.dependency_overrides[optional_subject] = as_who
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://kura.test")
        await self.client.__aenter__()
        return UploadHarness(self.container, self.client, who)

    async def __aexit__(self, *exc: object) -> None:
        await self.client.__aexit__(None, None, None)
        await self.container.close()


__all__ = ["TUS", "UploadHarness", "set_limits", "work_body"]
