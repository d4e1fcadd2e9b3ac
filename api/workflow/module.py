"""The approval workflow: transitions, route templates, delegations."""

from __future__ import annotations

from api.container import Container
from api.modules import Module
from api.workflow import delegations, routes, store
from api.workflow.permissions import WorkflowRules
from api.workflow.router import router


async def _schema(container: Container) -> None:
    await store.ensure_indexes(container.records)
    await routes.ensure_indexes(container.records)
    await delegations.ensure_indexes(container.records)


MODULE = Module(
    "workflow",
    routers=(router,),
    ensure_schema=_schema,
    grants={
        "workflow.delegate": "代理承認者の設定（自機関の利用者）",
        "workflow.templates": "組織の承認経路テンプレートの管理",
    },
    rules={"workflow": WorkflowRules()},
)
