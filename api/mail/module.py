"""Outgoing mail: the outbox and its delivery."""

from __future__ import annotations

from api.container import Container
from api.mail import outbox
from api.mail.router import router
from api.modules import Module


async def _schema(container: Container) -> None:
    await outbox.ensure_indexes(container.records)


MODULE = Module(
    "mail",
    routers=(router,),
    ensure_schema=_schema,
    beat={
        # Mail queued while the relay was down, or whose flush job was lost.
        "mail-flush": {"task": "mail.flush", "schedule": 60.0},
    },
)
