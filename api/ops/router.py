"""Operations endpoints outside ``/api/v1``: ``/healthz`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Literal, Protocol

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from api.container import Container
from api.deps import ContainerDep, optional_subject
from api.errors import KuraError
from api.ops.logging import mark_cause_logged
from api.ops.metrics import Metrics
from api.permissions.policy import Subject
from storage.errors import StorageError
from storage.ports import Health

log = logging.getLogger("kura.health")

router = APIRouter(tags=["ops"])

# Each backend check gets this long; a hung backend reports "not ok" instead of hanging the probe.
HEALTH_TIMEOUT_S = 5.0


class _Checkable(Protocol):
    name: str

    async def health(self) -> Health: ...


class BackendHealthRead(BaseModel):
    ok: bool
    backend: str
    detail: str = ""


class HealthRead(BaseModel):
    status: Literal["ok", "degraded"]
    backends: dict[str, BackendHealthRead]


async def check(port: _Checkable, timeout_s: float = HEALTH_TIMEOUT_S) -> Health:
    """The port's own answer, or a failed entry if it raises or takes too long; never raises."""
    backend = str(getattr(port, "name", type(port).__name__))
    try:
        return await asyncio.wait_for(port.health(), timeout_s)
    except TimeoutError:
        return Health(False, backend, f"{timeout_s:g}秒以内に応答がありません。")
    except Exception as exc:
        return Health(False, backend, f"{type(exc).__name__}: {exc}"[:200])


async def lenient_subject(request: Request) -> Subject | None:
    """The caller if a valid credential came with the probe, else None (never an error: a
    probe with a stale token still gets its answer)."""
    try:
        return await optional_subject(request)
    except (KuraError, StorageError):
        return None


@router.get(
    "/healthz",
    response_model=HealthRead,
    responses={503: {"model": HealthRead, "description": "一部のバックエンドが応答しません"}},
    summary="各バックエンドの状態",
)
async def healthz(
    request: Request,
    container: ContainerDep,
    subject: Annotated[Subject | None, Depends(lenient_subject)],
) -> JSONResponse:
    """Each backend's state. The details (file paths, addresses, errors) only for operators:
    anyone may probe, but server paths are nobody else's business (issue 7 item 11)."""
    # The same ports as Container.health(), checked concurrently, each with a timeout.
    ports: dict[str, _Checkable] = {
        "records": container.records,
        "blobs": container.blobs,
        "search": container.index,
        "jobs": container.jobs,
        "keys": container.keys,
    }
    results = await asyncio.gather(*(check(p, HEALTH_TIMEOUT_S) for p in ports.values()))
    entries = dict(zip(ports, results, strict=True))
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        for name, h in entries.items():
            metrics.backend_up.labels(name, h.backend).set(1 if h.ok else 0)
    ok = all(h.ok for h in entries.values())
    if not ok:
        failing = {name: h.detail for name, h in entries.items() if not h.ok}
        log.error("health check failed: %s", failing, extra={"backends": failing})
        mark_cause_logged()
    details = subject is not None and subject.is_operator
    body = HealthRead(
        status="ok" if ok else "degraded",
        backends={
            name: BackendHealthRead(ok=h.ok, backend=h.backend, detail=h.detail if details else "")
            for name, h in entries.items()
        },
    )
    return JSONResponse(
        body.model_dump(),
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/metrics", include_in_schema=False)
async def metrics_text(request: Request, container: ContainerDep) -> Response:
    app_metrics: Metrics = request.app.state.metrics
    await _operator_gauges(container, app_metrics)
    return Response(generate_latest(app_metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def _operator_gauges(container: Container, metrics: Metrics) -> None:
    """What an operator alerts on (issue 12 §4; ``api.ops.watch``)."""
    from api.ops.watch import refresh

    await refresh(container, metrics)
