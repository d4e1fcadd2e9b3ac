"""``kura serve`` for the browser tests: the real command (API, worker, operator bootstrap),
with the UI router included when ``create_app`` does not serve ``/`` yet.

    python -m tests.e2e.server --port 8123
"""

from __future__ import annotations

from typing import Any

import api.app
from api.cli.serve import serve

_create_app = api.app.create_app


def create_app(*args: Any, **kwargs: Any) -> Any:
    app = _create_app(*args, **kwargs)
    if not any(getattr(route, "path", None) == "/" for route in app.routes):
        from api.ui.router import router

        app.include_router(router)
    return app


if __name__ == "__main__":
    api.app.create_app = create_app  # read by serve at call time
    serve.main(prog_name="kura serve")
