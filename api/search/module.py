"""Search over works and files."""

from __future__ import annotations

from api.modules import Module
from api.search.router import router

MODULE = Module("search", routers=(router,))
