"""The app builds its routes at start (``api.app.build_routes`` in the lifespan), not on the
first request: FastAPI builds an included router's routes (dependencies, parameters,
response fields) lazily on the first request that walks past them, which made the first
request after a start 150 ms slower (the month view, bench/bench_schedules.py). The walk
uses FastAPI's router internals; this test fails when a FastAPI version drops them, so
the loss is seen instead of silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.app import create_app
from api.config import Settings
from api.container import Container

pytestmark = pytest.mark.anyio


def unbuilt(app: object) -> list[str]:
    """The included routers whose routes are not built (by their first route's path)."""
    left: list[str] = []
    pending = list(app.router.routes)  # type: ignore[attr-defined]
    seen = 0
    while pending:
        route = pending.pop()
        if not hasattr(route, "effective_candidates"):
            continue
        seen += 1
        version = route.original_router._get_routes_version()
        if route._effective_candidates_version != version:
            paths = [getattr(r, "path", "?") for r in route.original_router.routes]
            left.append(str(paths[:1]))
            continue
        pending.extend(route._effective_candidates)
    assert seen > 10, "FastAPI's included routers were not found: build_routes walks nothing"
    return left


async def test_the_routes_are_built_when_the_app_starts(tmp_path: Path) -> None:
    container = Container(Settings(data_dir=tmp_path))
    app = create_app(container=container)
    assert unbuilt(app)  # lazily, until the app starts
    async with app.router.lifespan_context(app):
        assert unbuilt(app) == []
