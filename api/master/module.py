"""Master data: positions, 業種, mail templates, the business calendar (seed 001 別表1-1 8(4))."""

from __future__ import annotations

from api.master.router import router
from api.modules import Module

MODULE = Module("master", routers=(router,))
