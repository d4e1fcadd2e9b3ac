"""Search API harness: the works harness (subjects, seeded organizations) with the search
router mounted, on the embedded backends. Jobs are recorded, not run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.config import Settings
from api.container import Container
from api.deps import optional_subject
from api.permissions.policy import Subject
from api.search.router import router as search_router
from tests.works.harness import Harness, Who, seed


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    container = Container(settings)
    await container.open()
    jobs: list[tuple[str, dict[str, Any]]] = []

    async def record(task: str, **kwargs: Any) -> str:
        jobs.append((task, kwargs))
        return f"job-{len(jobs)}"

    container.jobs.enqueue = record  # type: ignore[method-assign]
    try:
        await seed(container)
        app = create_app(container=container)
        if not any(getattr(r, "path", "").startswith("/api/v1/search") for r in app.routes):
            app.include_router(search_router, prefix="/api/v1")
        who = Who()

        async def as_who() -> Subject | None:
            return who.subject

        app.dependency_overrides[optional_subject] = as_who
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kura.test") as client:
            harness = Harness(container, client, who)
            harness.jobs = jobs  # type: ignore[attr-defined]
            yield harness
    finally:
        await container.close()
