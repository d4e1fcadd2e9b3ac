"""The module registry (house style "Adding a module"): one list feeds the app's routers, the
schema steps, the beat schedule, the grants and the policy's per-module rules."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from api.app import API_PREFIX, create_app
from api.config import Settings
from api.modules import MODULES, beat_schedule, modules
from api.permissions.policy import OrgKind, Policy, Subject, all_grants
from workers.celery_app import create_celery


def test_every_declared_router_is_mounted_by_the_app(settings: Settings) -> None:
    app = create_app(settings)
    # What the app serves, as its OpenAPI document lists it (routes in the schema).
    mounted = set(app.openapi()["paths"])
    for module in modules():
        for router in module.routers:
            for route in router.routes:
                if getattr(route, "include_in_schema", False):
                    path = API_PREFIX + route.path  # type: ignore[attr-defined]
                    assert path in mounted, (module.name, path)
    assert [m.name for m in modules()] == list(MODULES)


def test_the_worker_beats_what_the_modules_declare(settings: Settings) -> None:
    beat = create_celery(settings).conf.beat_schedule
    assert beat == beat_schedule(settings)
    # Declared by the archive, uploads, attachments and mail modules.
    assert {"index-pending", "uploads-expire", "attachments-sweep", "mail-flush"} <= set(beat)
    assert beat["mail-flush"]["task"] == "mail.flush"


@dataclass
class _Rules:
    def can(self, subject: Subject, action: str, resource: object) -> bool:
        return action == "bonds.read" and subject.org_kind is OrgKind.ORDERER


def test_a_module_decides_its_own_actions_operators_included() -> None:
    policy = Policy({"bonds": _Rules()})
    orderer = Subject("u1", "clerk", "o1", OrgKind.ORDERER)
    operator = Subject("u2", "op", "o2", OrgKind.OPERATOR)
    assert policy.can(orderer, "bonds.read")
    assert not policy.can(orderer, "bonds.update")
    # The operator shortcut does not reach into a module's own actions.
    assert not policy.can(operator, "bonds.read")
    assert policy.can(operator, "users.manage")  # core actions unchanged


def test_core_grants_are_listed() -> None:
    assert {"users.manage", "audit.read", "works.create"} <= set(all_grants())


@pytest.mark.anyio
async def test_schema_runs_every_module_step(settings: Settings) -> None:
    from api.container import Container

    container = Container(settings)
    await container.open()
    try:
        # Indexes exist for collections of several modules (the SQLite adapter keeps a table).
        for collection in (
            "users",
            "works",
            "audit_events",
            "nodes",
            "mails",
            "attachments",
            "notifications",
        ):
            await container.records.count(collection)
    finally:
        await container.close()
