"""Membership access as it stands now, read from the record store (issue 7 item 9).

A member's access must follow the store at once: removing a member or a contractor
organization used to leave the index documents of the work's files carrying ``user:<id>``
until the ``index.work_files`` task rebuilt them, so removed members kept seeing hits for a
few seconds. Two rules close that:

- ``member_roles``: a membership gives its role only while it still fits the work: a
  contractor member counts only while their organization is one of the work's contractors
  (``WorkService.context`` and the index filter both use it). Removing a contractor
  organization also deletes its members' memberships in the same transaction
  (``api.works.service``).
- ``search_access``: index queries never trust ``user:`` principals stored in documents.
  They filter on the organization-wide principals (``orgread:``, ``archive:``, from the
  subject's grants) OR on the ids of the works the subject reads as a member right now,
  computed here from ``work_members`` and the works' current status
  (``SearchQuery.member_works``). The record store's own ``acl`` is rewritten in the same
  transaction as every membership change, so lists answered by the store need nothing more.
"""

from __future__ import annotations

from api.permissions.policy import Policy, Subject, WorkContext, WorkRole
from api.works.indexing import principals_for
from api.works.models import MEMBERS, WORKS
from storage.ports import RecordStore
from storage.query import Eq, Record

# Roles that read a work in every status (see Policy._can_on_work): no need to read the work.
_ALWAYS = frozenset({WorkRole.SUPERVISOR, WorkRole.INSPECTOR, WorkRole.ARCHIVE_READER})


def member_roles(member: Record | None, work: Record) -> frozenset[WorkRole]:
    """The roles a membership gives on ``work`` now (empty when it no longer fits)."""
    if member is None:
        return frozenset()
    try:
        role = WorkRole(str(member.get("role")))
    except ValueError:
        return frozenset()
    if role is WorkRole.CONTRACTOR_MEMBER and member.get("org_id") not in (
        work.get("contractor_org_ids") or ()
    ):
        return frozenset()
    return frozenset({role})


async def member_works(records: RecordStore, policy: Policy, subject: Subject) -> tuple[str, ...]:
    """Ids of the works ``subject`` reads through a membership now, sorted."""
    memberships = [m async for m in records.scan(MEMBERS, (Eq("user_id", subject.user_id),))]
    readable: set[str] = set()
    check: dict[str, Record] = {}
    for member in memberships:
        role = str(member.get("role"))
        if role in _ALWAYS:
            readable.add(str(member["work_id"]))
        else:
            check[str(member["work_id"])] = member
    if check:
        for work in await records.get_many(WORKS, sorted(check)):
            ctx = WorkContext(
                work_id=str(work["id"]),
                orderer_org_id=work.get("orderer_org_id"),
                contractor_org_ids=tuple(work.get("contractor_org_ids") or ()),
                status=str(work.get("status")),
                roles=member_roles(check[str(work["id"])], work),
            )
            if ctx.roles and policy.can(subject, "works.read", ctx):
                readable.add(ctx.work_id)
    return tuple(sorted(readable))


async def search_access(
    records: RecordStore, policy: Policy, subject: Subject
) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """``(acl, member_works)`` for an index query by ``subject``: ``(None, ())`` for operators
    (no filter), else the organization-wide principals and the works read as a member."""
    principals = org_wide(subject)
    if principals is None:
        return None, ()
    return principals, await member_works(records, policy, subject)


def org_wide(subject: Subject) -> tuple[str, ...] | None:
    """The principals an index query may trust: those from the subject's grants
    (``orgread:``, ``archive:``); membership comes from ``member_works`` instead of the
    ``user:`` principals stored in documents. None for operators (no filter)."""
    principals = principals_for(subject)
    if principals is None:
        return None
    return tuple(p for p in principals if not p.startswith("user:"))
