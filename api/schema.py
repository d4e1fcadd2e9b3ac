"""Create every collection's secondary indexes at start: each module's schema step, in the
order of ``api.modules.MODULES``.

Statutory master data (業種) is seeded on first use instead, with its audit event.

Called by ``Container.open`` outside any transaction (MongoDB refuses index creation inside
one). Each step is idempotent, so every process (API, worker, CLI) may run it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.container import Container


async def ensure_schema(container: Container) -> None:
    from api.modules import modules

    for module in modules():
        if module.ensure_schema is not None:
            await module.ensure_schema(container)
