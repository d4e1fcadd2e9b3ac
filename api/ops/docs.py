"""``/docs``: the interactive API reference, served entirely from this server (issue 7 item 11).

FastAPI's default page loads Swagger UI from a CDN into the app's origin, so a compromised or
hijacked CDN would run script with the users' sessions. Here the Swagger UI build comes from
the ``fastapi-offline`` package (its static files only) under ``/docs/static/``, the page's
start-up script is a file of its own (no inline script), and the page carries a
Content-Security-Policy allowing nothing but this origin.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

router = APIRouter(include_in_schema=False)

DOCS_PATH = "/docs"
STATIC_PATH = "/docs/static"

DOCS_CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        # Swagger UI sets style attributes on its elements.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    )
)
_CACHE = "public, max-age=86400"

INIT_JS = """\
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    showExtensions: true,
    showCommonExtensions: true,
  });
});
"""

PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API リファレンス</title>
<link rel="icon" href="{static}/favicon.png">
<link rel="stylesheet" href="{static}/swagger-ui.css">
</head>
<body data-openapi="{openapi}">
<div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="{static}/init.js"></script>
</body></html>
"""

# The files served from the package, by the name used in URLs.
_PACKAGE_FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


def swagger_dir() -> Path:
    """The package folder holding the Swagger UI build."""
    return Path(str(files("fastapi_offline") / "static"))


def _headers(cache: str) -> dict[str, str]:
    return {"Content-Security-Policy": DOCS_CSP, "Cache-Control": cache}


@router.get(DOCS_PATH)
async def docs_page(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    openapi = request.app.openapi_url or "/openapi.json"
    page = PAGE.format(
        title=escape(request.app.title),
        static=escape(f"{root}{STATIC_PATH}"),
        openapi=escape(f"{root}{openapi}"),
    )
    return HTMLResponse(page, headers=_headers("no-cache"))


@router.get(STATIC_PATH + "/{name}")
async def docs_static(name: str) -> Response:
    if name == "init.js":
        return Response(
            INIT_JS, media_type="text/javascript; charset=utf-8", headers=_headers(_CACHE)
        )
    media_type = _PACKAGE_FILES.get(name)
    if media_type is None:
        raise StarletteHTTPException(404)
    return FileResponse(swagger_dir() / name, media_type=media_type, headers=_headers(_CACHE))
