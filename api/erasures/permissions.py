"""Who may do what with erasures (actions ``erasures.*``), decided here for every subject,
operators included (``api.modules``).

Seed 001 別表3 12(1): data is deleted 自動あるいは、手動により at the contract's date: the
scheduled job, or by hand the system's operator (情報共有システム等運用業務: the operator runs
the service and answers for the erasure, and signs the certificate, issue 12 §2). Nobody else
erases by hand: a municipality's administrators are told the date (§3-6) and see the state
of their own data, but its erasure is the operator's act under the contract.
"""

from __future__ import annotations

from api.permissions.policy import Resource, Subject


class ErasureRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        match action:
            case "erasures.list" | "erasures.read" | "erasures.erase" | "erasures.schedule":
                # 別表3 12(1) 手動により削除: the operator's act
                return subject.is_operator
        return False
