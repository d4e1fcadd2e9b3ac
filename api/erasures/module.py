"""Erasure of scopes at the contract's dates or by hand (issue 12 §2; seed 001 §3-6, 別表3 12;
seed 003 遵守事項 3(3)): the ``erasures`` records, the operators' API and the hourly beat."""

from __future__ import annotations

from api.container import Container
from api.erasures.permissions import ErasureRules
from api.erasures.router import router
from api.keys.erasure import ERASURES
from api.modules import Module
from storage.ports import IndexSpec


async def _schema(container: Container) -> None:
    await container.records.ensure_indexes(ERASURES, [IndexSpec((("state", 1), ("due_on", 1)))])


MODULE = Module(
    "erasures",
    routers=(router,),
    ensure_schema=_schema,
    beat={
        # 別表3 12(1): 契約書に記載された期日に達した際、自動 … によりデータを削除
        "erasures-run-due": {"task": "erasures.run_due", "schedule": 60 * 60.0},
    },
    rules={"erasures": ErasureRules()},
)
