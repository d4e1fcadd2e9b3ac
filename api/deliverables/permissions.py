"""Rules for the ``deliverables.*`` actions the deliverables module decides itself.

Reading and re-checking packages follow the work's file rights (``files.read`` /
``files.write``, core rules). Only the 受領確認 (received and checked) is the module's own:
it is the orderer's act on what the contractor delivered (seed 000 手続きフロー: 受注者が電子
成果品を納品し、発注者が受領・検査する; seed 001 §5(1): 完成検査 by the orderer's inspector).
"""

from __future__ import annotations

from api.permissions.policy import Resource, Subject, WorkContext, WorkRole

_RECEIVERS = frozenset({WorkRole.SUPERVISOR, WorkRole.INSPECTOR})


class DeliverableRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        if action != "deliverables.receive" or not isinstance(resource, WorkContext):
            return False
        # Operators run the system, they are not the orderer: no receipt in their name
        # (decided explicitly, module rules are not opened by the operator shortcut).
        if subject.is_operator:
            return False
        # The work's 工事監督員 / 検査員 (seed 001 別表1-1 and §5(1)), or the orderer's
        # holders of works.manage (seed 001 別表1-1 8(3): functions granted per user).
        own_orderer = resource.orderer_org_id is not None and (
            resource.orderer_org_id == subject.org_id
        )
        return bool(resource.roles & _RECEIVERS) or (
            own_orderer and "works.manage" in subject.grants
        )
