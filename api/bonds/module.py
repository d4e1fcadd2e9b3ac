"""Bonds (ボンド管理): the module's routers, schema, grants and permission rules."""

from __future__ import annotations

from api.attachments.service import register_reader
from api.bonds import models, throttle
from api.bonds.permissions import GRANTS, BondResource, BondRules
from api.bonds.router import router
from api.bonds.router_more import public_router
from api.bonds.router_more import router as more_router
from api.container import Container
from api.modules import Module
from api.permissions.policy import Subject


async def _schema(container: Container) -> None:
    records = container.records
    for collection, specs in (
        (models.BONDS, models.BOND_INDEXES),
        (models.REVISIONS, models.REVISION_INDEXES),
        (models.KEYS, models.KEY_INDEXES),
        (models.CERTIFICATES, models.CERT_INDEXES),
        (models.OPENINGS, models.OPENING_INDEXES),
        (models.BALANCES, models.BALANCE_INDEXES),
        (models.SEALED, models.SEALED_INDEXES),
        (models.ATTEMPTS, throttle.INDEXES),
    ):
        await records.ensure_indexes(collection, specs)


async def _reads_bond(container: Container, subject: Subject, bond_id: str) -> bool:
    """A bond's receipt (契約保証金の領収証書) is read by whoever reads its contents."""
    bond = await container.records.get(models.BONDS, bond_id)
    return bond is not None and container.policy.can(
        subject, "bonds.read_contents", BondResource(bond)
    )


register_reader(models.BONDS, _reads_bond)

MODULE = Module(
    "bonds",
    # The published and fixed paths first: ``/bonds/{bond_id}`` would shadow them.
    routers=(public_router, more_router, router),
    ensure_schema=_schema,
    beat={
        # failed key presentations that left the rate-limit window
        "bonds-sweep-attempts": {"task": "bonds.sweep_attempts", "schedule": 60 * 60.0},
    },
    grants=GRANTS,
    rules={"bonds": BondRules()},
)
