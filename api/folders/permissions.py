"""Who may keep the standard folder sets (actions ``folders.*``), each rule with its clause.

The folders of one work follow the core file rules (``files.read`` / ``files.write`` /
``files.delete`` on the work: members of a running work change them, seed 001 別表1-1 5(3)).
Decided here for every subject, operators included (``api.modules``).
"""

from __future__ import annotations

from api.permissions.policy import OrgContext, OrgKind, Resource, Subject


class FolderRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        if not isinstance(resource, OrgContext) or resource.org_id is None:
            return False
        own = resource.org_id == subject.org_id
        if action == "folders.templates.read":
            # The set a work starts with is shown to the orderer's staff and to operators.
            return subject.is_operator or own
        if action == "folders.templates.manage":
            # §3-4 folder sets per kind of work are master data of the orderer (別表1-1 8(4)):
            # kept by its holders of master.manage, or by operators for any orderer.
            if subject.is_operator:
                return True
            return own and subject.org_kind is OrgKind.ORDERER and "master.manage" in subject.grants
        return False
