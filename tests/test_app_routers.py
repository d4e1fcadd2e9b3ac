"""Every router of ``api/`` is mounted by ``create_app``: a router dropped from the app fails
here, whatever the test harnesses do (they use the app exactly as ``create_app`` builds it).

Found by walking the source: every module named ``router*.py`` under ``api/`` that defines a
module-level ``router``; each of its endpoints must be an endpoint of the app, at the path the
router gives it under ``/api/v1`` (``ops`` and ``ui`` are mounted at the root).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.routing import RouteContext, iter_route_contexts

from api.app import API_PREFIX, create_app
from api.config import Settings

ROOT = Path(__file__).resolve().parents[1]
AT_ROOT = {"api.ops.router", "api.ui.router"}


def router_modules() -> list[str]:
    found = []
    for path in sorted((ROOT / "api").rglob("router*.py")):
        found.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return found


def test_the_walk_finds_the_routers() -> None:
    modules = router_modules()
    # a handful known from outside the walk, so an empty walk cannot pass
    for known in ("api.works.router", "api.search.router", "api.archive.router_tree"):
        assert known in modules, modules


@pytest.mark.parametrize("module_name", router_modules())
def test_router_is_mounted_by_create_app(module_name: str, settings: Settings) -> None:
    module = importlib.import_module(module_name)
    router = getattr(module, "router", None)
    assert isinstance(router, APIRouter), f"{module_name} has no module-level router"
    prefix = "" if module_name in AT_ROOT else API_PREFIX
    wanted = {(prefix + path, methods, endpoint) for path, methods, endpoint in flat(router)}
    assert wanted, f"{module_name}.router has no routes"
    mounted = flat(create_app(settings).router)
    missing = sorted(f"{sorted(m)} {path}" for path, m, e in wanted - mounted)
    assert not missing, f"{module_name}: not mounted by create_app: {missing}"


def flat(router: APIRouter) -> set[tuple[str, frozenset[str], object]]:
    """(path, methods, endpoint) of every route, nested routers included."""
    return {
        (str(c.path), frozenset(c.methods or ()), c.endpoint)
        for c in iter_route_contexts(router.routes)
        if isinstance(c, RouteContext) and c.endpoint is not None and c.path is not None
    }
