"""Serve the built web interface (``ui/dist``, made by ``node ui/build.mjs``) at ``/``.

``/`` answers ``index.html``; other paths answer the file under ``ui/dist`` (ETag/304 handled
by Starlette's StaticFiles). Every answer carries a Content-Security-Policy: the app loads
nothing from elsewhere (no CDN, no inline script); ``blob:`` for pdf.js workers and object
URLs, ``data:`` for small images. The app shell and its modules are revalidated on every load
(``no-cache``: the file names carry no hash), the pinned vendor builds are cached for a day.
When ``ui/dist`` is missing, ``/`` answers a Japanese page telling the operator to run
``scripts/setup`` (HTTP 503). ``/api/...`` is never answered here: unknown API paths stay JSON 404s.
The router must be included LAST (its catch-all GET route would shadow later routes).
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from api.ops.logging import mark_cause_logged

log = logging.getLogger("kura.ui")

DIST = Path(__file__).resolve().parents[2] / "ui" / "dist"

CSP = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
NO_CACHE = "no-cache"
VENDOR_CACHE = "public, max-age=86400"

MISSING_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>Kura: 画面が準備されていません</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, 'Noto Sans CJK JP', 'Hiragino Sans', 'Yu Gothic', sans-serif;
 max-width: 40em; margin: 4em auto; padding: 0 1em; line-height: 1.8; color: #1d2320">
<h1>画面が準備されていません</h1>
<p>Kura の画面（ui/dist）がまだ作られていません。
サーバーの管理者は、リポジトリの場所で次を実行してから、
このページを再読み込みしてください。</p>
<pre style="background:#f3f4f2;padding:.8em 1em;border-radius:6px">scripts/setup</pre>
<p>（画面だけを作り直す場合: <code>npm ci --prefix ui &amp;&amp; node ui/build.mjs</code>）</p>
<p>API は <code>/api/v1</code> で利用できます。</p>
</body></html>
"""
# The missing page has inline styles only: no script, no outside resource.
MISSING_CSP = "default-src 'none'; style-src 'unsafe-inline'"

router = APIRouter(include_in_schema=False)

_static: dict[Path, StaticFiles] = {}


def dist_dir() -> Path:
    """The folder served; a function so tests can point it elsewhere (monkeypatch DIST)."""
    return DIST


def _files(dist: Path) -> StaticFiles:
    found = _static.get(dist)
    if found is None:
        found = _static[dist] = StaticFiles(directory=dist, check_dir=False)
    return found


def csp_for(tile_url: str | None) -> str:
    """The policy, with the configured map tile server's origin allowed for images."""
    if not tile_url:
        return CSP
    parts = urlsplit(tile_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return CSP.replace("img-src 'self' data: blob:", f"img-src 'self' data: blob: {origin}")


def _secure(response: Response, path: str, tile_url: str | None = None) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    response.headers["Content-Security-Policy"] = csp_for(tile_url)
    if response.status_code < 400:
        vendor = path.startswith("vendor/")
        response.headers["Cache-Control"] = VENDOR_CACHE if vendor else NO_CACHE
    if path.endswith((".js", ".mjs")):
        response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return response


async def _serve(request: Request, path: str) -> Response:
    configured = getattr(request.app.state, "settings", None)
    dist = configured.ui_dir if configured is not None and configured.ui_dir else dist_dir()
    if not (dist / "index.html").is_file():
        if path in ("", "index.html"):
            log.error("web interface not built: %s has no index.html", dist)
            mark_cause_logged()
            return HTMLResponse(
                MISSING_PAGE,
                status_code=503,
                headers={"Content-Security-Policy": MISSING_CSP, "Cache-Control": "no-store"},
            )
        raise StarletteHTTPException(404)
    response = await _files(dist).get_response(path or "index.html", request.scope)
    return _secure(response, path, configured.map.tile_url if configured is not None else None)


@router.api_route("/", methods=["GET", "HEAD"])
async def index(request: Request) -> Response:
    """The single-page app (hash routes: ``/#/login``, ``/#/works``, ...)."""
    return await _serve(request, "")


# The app uses hash routes, so only these top-level names are files of the interface; any
# other path stays the API's (JSON 404s, routes added after this router).
ASSET_ROOTS = ("css", "js", "vendor")


@router.api_route("/index.html", methods=["GET", "HEAD"])
async def index_file(request: Request) -> Response:
    return await _serve(request, "index.html")


async def _asset(request: Request) -> Response:
    """A file of the built interface (css, js, vendor builds)."""
    root = request.url.path.split("/")[1]
    return await _serve(request, f"{root}/{request.path_params['path']}")


for _root in ASSET_ROOTS:
    router.add_api_route(f"/{_root}/{{path:path}}", _asset, methods=["GET", "HEAD"])
