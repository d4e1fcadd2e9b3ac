"""Electronic inspection (seed 001 §5(2)(4)): the inspection view's data and the offline
package; the view itself reuses the archive browser (ui: pages/inspection.js)."""

from __future__ import annotations

from api.inspections.router import router
from api.modules import Module

MODULE = Module("inspections", routers=(router,))
