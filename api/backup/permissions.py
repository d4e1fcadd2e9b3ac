"""Who may read the state of the backups and keys (actions ``backups.*``), decided here for
every subject, operators included (``api.modules``).

Seed 001 別表3 8: the service's data are backed up regularly, with generations, by the
operator of the system (情報共有システム等運用業務), who also keeps the keys (issue 12 §1, §3).
The state of a deployment's backups, its key-encryption key and its monitoring values belong
to no organization: only operators read them; everyone else is refused (403), as for the
list of erasures.
"""

from __future__ import annotations

from api.permissions.policy import Resource, Subject


class BackupRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        match action:
            case "backups.read":
                # 別表3 8: the operator's duty (backups with generations, the restore procedure)
                return subject.is_operator
        return False
