"""HTTP API of the archive search, ``/api/v1/search`` (issue 3 item 5), and its listings as
CSV / Excel (seed 001 別表1-1 5(7)). The service and the policy decide; nothing here does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from api.deps import ContainerDep, SubjectDep
from api.kit.clock import JST
from api.search.export import content_disposition, csv_stream, xlsx_stream
from api.search.schemas import SearchParams, SearchResponse
from api.search.service import ExportRun, SearchService

router = APIRouter(prefix="/search", tags=["search"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def get_service(container: ContainerDep) -> SearchService:
    return SearchService(container.index, container.records, container.policy)


ServiceDep = Annotated[SearchService, Depends(get_service)]
ParamsDep = Annotated[SearchParams, Query()]


@router.get("/map")
async def map_settings(container: ContainerDep, subject: SubjectDep) -> dict[str, object]:
    """The background of the map filter: the configured tile source, or none (the interface
    then draws the outline it ships; nothing is fetched from elsewhere)."""
    container.policy.require(subject, "works.list")
    settings = container.settings.map
    return {
        "tile_url": settings.tile_url,
        "attribution": settings.attribution,
        "max_zoom": settings.max_zoom,
    }


@router.get("", response_model=SearchResponse)
async def search(service: ServiceDep, subject: SubjectDep, params: ParamsDep) -> SearchResponse:
    """Works and files the subject may read, with facets, page highlights and a cursor."""
    return await service.search(subject, params)


def _name(container: ContainerDep, ext: str) -> tuple[str, str]:
    """``検索結果_<JST time>.<ext>``: the time people read on their clocks (issue 8 §3 item 5)."""
    stamp = container.clock.now().astimezone(JST).strftime("%Y%m%d-%H%M%S")
    return f"検索結果_{stamp}.{ext}", f"search-{stamp}.{ext}"


@router.get("/export.csv")
async def export_csv(
    container: ContainerDep, service: ServiceDep, subject: SubjectDep, params: ParamsDep
) -> StreamingResponse:
    """The same search as a CSV listing (UTF-8 with BOM), up to 100,000 rows."""
    service.query(subject, params)  # 401 / 400 before the stream starts
    run = ExportRun()
    name, fallback = _name(container, "csv")
    return StreamingResponse(
        csv_stream(service.rows(subject, params, run), run),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition(name, fallback)},
    )


@router.get("/export.xlsx")
async def export_xlsx(
    container: ContainerDep, service: ServiceDep, subject: SubjectDep, params: ParamsDep
) -> StreamingResponse:
    """The same search as an Excel listing, up to 100,000 rows."""
    service.query(subject, params)
    run = ExportRun()
    name, fallback = _name(container, "xlsx")
    return StreamingResponse(
        xlsx_stream(service.rows(subject, params, run), run),
        media_type=XLSX,
        headers={"Content-Disposition": content_disposition(name, fallback)},
    )
