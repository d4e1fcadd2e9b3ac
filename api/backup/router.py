"""HTTP API of the operators' page 鍵とバックアップ (issue 12 §3-4; seed 001 別表3 8, 10),
read-only: backups run from cron or by hand with ``kura backup``, keys rotate with
``kura keys rotate-kek`` (docs/operations.md).

    GET /backups         the data and key generations (date, kind, objects, bytes), the age
                         of the newest, the retention policy, the key-encryption key
    GET /backups/watch   the values operators alert on (backup age, failed jobs, dead
                         letters, disk free, KEK age, certificate expiry) with their levels

Operators only (``api.backup.permissions``): anonymous 401, everyone else 403 (the state is
the deployment's, no organization's, so there is nothing another organization could be
told apart from: as for ``GET /erasures``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.deps import ContainerDep, SubjectDep
from api.ops.metrics import Metrics
from api.permissions.policy import OrgContext

router = APIRouter(tags=["backups"])


@router.get("/backups")
async def read_backups(container: ContainerDep, subject: SubjectDep) -> dict[str, Any]:
    container.policy.require(subject, "backups.read", OrgContext(None))
    from api.backup.status import backups

    return await backups(container)


@router.get("/backups/watch")
async def read_watch(
    request: Request, container: ContainerDep, subject: SubjectDep
) -> dict[str, Any]:
    container.policy.require(subject, "backups.read", OrgContext(None))
    from api.ops.levels import checks

    # The app's own gauges (those /metrics exports), so both show the same values.
    metrics = getattr(request.app.state, "metrics", None)
    if not isinstance(metrics, Metrics):
        metrics = Metrics()
    return {"checks": await checks(container, metrics)}
