"""The web interface served by the API: index, assets, CSP, cache headers, missing build page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.errors import install_error_handlers
from api.ui import router as ui

pytestmark = pytest.mark.anyio


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(ui.router)
    return app


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "dist"
    (root / "js").mkdir(parents=True)
    (root / "vendor" / "pdfjs").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>Kura</title>", encoding="utf-8")
    (root / "js" / "app.js").write_text("export {};", encoding="utf-8")
    (root / "vendor" / "pdfjs" / "pdf.min.mjs").write_text("export {};", encoding="utf-8")
    monkeypatch.setattr(ui, "dist_dir", lambda: root)
    return root


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_index_has_csp_and_no_cache(dist: Path, client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert "<title>Kura</title>" in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "img-src 'self' data: blob:" in csp
    assert "worker-src 'self' blob:" in csp
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_modules_are_javascript_and_vendor_is_cached(
    dist: Path, client: httpx.AsyncClient
) -> None:
    r = await client.get("/js/app.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    v = await client.get("/vendor/pdfjs/pdf.min.mjs")
    assert v.headers["content-type"].startswith("text/javascript")
    assert "max-age=86400" in v.headers["cache-control"]


async def test_etag_revalidation(dist: Path, client: httpx.AsyncClient) -> None:
    first = await client.get("/js/app.js")
    again = await client.get("/js/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


async def test_missing_file_and_traversal_are_404(dist: Path, client: httpx.AsyncClient) -> None:
    assert (await client.get("/js/nope.js")).status_code == 404
    assert (await client.get("/../../etc/passwd")).status_code == 404
    assert (await client.get("/js/%2e%2e/%2e%2e/secret")).status_code == 404


async def test_api_paths_stay_json(dist: Path, client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/ping")).json() == {"ok": True}
    r = await client.get("/api/v1/unknown")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_missing_build_answers_japanese_setup_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient
) -> None:
    monkeypatch.setattr(ui, "dist_dir", lambda: tmp_path / "absent")
    r = await client.get("/")
    assert r.status_code == 503
    assert "scripts/setup" in r.text
    assert "画面が準備されていません" in r.text
    assert "script" not in r.headers["content-security-policy"]
    assert (await client.get("/js/app.js")).status_code == 404


def test_real_build_has_the_shell() -> None:
    """When ui/dist is built (scripts/setup), it holds the shell and the vendor builds."""
    root = ui.DIST
    if not (root / "index.html").is_file():
        pytest.skip("ui/dist not built (run scripts/setup)")
    for rel in (
        "js/app.js",
        "js/api.js",
        "js/router.js",
        "css/app.css",
        "vendor/tus.min.js",
        "vendor/pdfjs/pdf.min.mjs",
        "vendor/pdfjs/pdf.worker.min.mjs",
    ):
        assert (root / rel).is_file(), rel


async def test_ui_dir_setting_chooses_the_folder(tmp_path: Path) -> None:
    """An installed image has no ui/dist beside the code: ``KURA_UI_DIR`` points at it."""
    from api.app import create_app
    from api.config import Settings

    built = tmp_path / "elsewhere"
    (built / "css").mkdir(parents=True)
    (built / "index.html").write_text("<!doctype html><title>別の場所</title>", encoding="utf-8")
    (built / "css" / "app.css").write_text("body{}", encoding="utf-8")
    app = create_app(Settings(data_dir=tmp_path / "data", ui_dir=built))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        assert "別の場所" in (await c.get("/")).text
        assert (await c.get("/css/app.css")).text == "body{}"


async def test_a_configured_map_tile_server_is_allowed_for_images(dist: Path) -> None:
    """Nothing is fetched from elsewhere by default; a tile source the operator configures
    (KURA_MAP__TILE_URL) is allowed for images, and only its origin (issue 8 §1 item 9)."""
    from api.config import Settings

    app = _app()
    app.state.settings = Settings(
        data_dir=dist.parent / "data",
        map={"tile_url": "https://tiles.example.jp/xyz/std/{z}/{x}/{y}.png"},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        csp = (await c.get("/")).headers["content-security-policy"]
    assert "img-src 'self' data: blob: https://tiles.example.jp;" in csp + ";"
    assert "xyz" not in csp


async def test_no_tile_server_by_default(dist: Path, client: httpx.AsyncClient) -> None:
    csp = (await client.get("/")).headers["content-security-policy"]
    img = next(part.strip() for part in csp.split(";") if part.strip().startswith("img-src"))
    assert img == "img-src 'self' data: blob:"


def test_tile_url_must_name_z_x_y() -> None:
    from pydantic import ValidationError

    from api.config import MapSettings

    with pytest.raises(ValidationError):
        MapSettings(tile_url="https://tiles.example.jp/map.png")
    with pytest.raises(ValidationError):
        MapSettings(tile_url="javascript:alert(1)//{z}/{x}/{y}")
    assert MapSettings(tile_url="https://t.example/{z}/{x}/{y}.png").max_zoom == 18
