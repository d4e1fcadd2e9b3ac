"""The FastAPI application: ``create_app(settings)`` wires the container, errors and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.lowlevel
from fastapi import FastAPI

from api.config import Settings
from api.container import Container
from api.errors import install_error_handlers
from api.modules import modules
from api.openapi import install_openapi
from api.ops.docs import router as docs_router
from api.ops.headers import install_security_headers
from api.ops.limits import install_body_limits
from api.ops.middleware import install_observability
from api.ops.router import router as ops_router
from api.ui.router import router as ui_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    settings = settings or (container.settings if container else Settings())
    owned = container is None
    the_container = container or Container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned:
            await the_container.open()
        await warm_up(app)
        try:
            yield
        finally:
            if owned:
                await the_container.close()

    app = FastAPI(
        title="Kura (蔵)",
        version="0.1.0",
        description="公共工事の電子成果品保管・情報共有・電子保証・利用料金・資格審査",
        lifespan=lifespan,
        # /docs is served from this server (api/ops/docs.py), never from a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.container = the_container
    app.state.settings = settings
    install_error_handlers(app)
    # Middleware order (the last added is outermost): security headers, then the request
    # context (request id, access log, last-resort error answer), then the body limits.
    install_body_limits(app, settings)
    install_observability(app, settings)
    install_security_headers(app)
    app.include_router(ops_router)
    app.include_router(docs_router)
    for module in modules():
        for router in module.routers:
            app.include_router(router, prefix=API_PREFIX)
    # Last: the web interface's catch-all GET would hide any route added after it.
    app.include_router(ui_router)
    install_openapi(app)
    return app


async def warm_up(app: FastAPI) -> None:
    """What the first request after a start would otherwise do: build the routes, and load
    anyio's event-loop backend (Starlette's thread pool and streams; 10 ms of imports)."""
    build_routes(app)
    await anyio.lowlevel.checkpoint()


def build_routes(app: FastAPI) -> None:
    """Build every included router's routes now, at start (the lifespan). FastAPI builds them (each
    endpoint's dependencies, parameters and response fields: pydantic adapters) on the
    first request that walks past them, which made the first request after a start 150 ms
    slower (measured on the month view, bench/bench_schedules.py). The walk uses FastAPI's
    router methods if this version has them; without them the routes stay lazy, as before."""
    pending: list[object] = list(app.router.routes)
    while pending:
        route = pending.pop()
        candidates = getattr(route, "effective_candidates", None)
        if not callable(candidates):
            continue
        pending.extend(candidates())
        low = getattr(route, "effective_low_priority_routes", None)
        if callable(low):
            low()
