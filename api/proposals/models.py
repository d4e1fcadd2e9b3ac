"""Proposals as stored: collections, indexes, and the context the permission rules see.

``proposals`` holds one record per proposal: the fold of its events (``api.workflow.machine``)
plus bookkeeping: ``number`` (発議番号, per work, given at the first submission), ``acl`` (who
may read it: ``pwork:<work>`` and ``porg:<orderer>`` once submitted, ``puser:<proposer>`` while a
draft), ``waiting`` (the inbox), ``work_title``/``orderer_org_id`` for lists across works, and
``version`` for optimistic updates (two approvers acting at once: one wins, the other gets 409).

The principals are prefixed ``p...`` so that the works search (``api.works.indexing``
principals) never matches a proposal's index document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.permissions.policy import WorkContext
from storage.ports import IndexSpec, RecordStore

PROPOSALS = "proposals"
FORMS = "proposal_forms"
FORM_VERSIONS = "proposal_form_versions"
REVISIONS = "proposal_revisions"
COUNTERS = "proposal_counters"
PREMEETINGS = "premeetings"
DOC_TYPE = "proposal"
PREMEETING_DOC_TYPE = "premeeting"

# Columns of the lists (seed 001 別表1-1 4(6)) a list may be sorted by.
SORT_FIELDS = (
    "updated_at",
    "proposed_on",
    "requested_answer_date",
    "received_on",
    "planned_answer_date",
    "answered_on",
    "title",
    "work_title",
    "number",
)

_SORTED = tuple(IndexSpec(((name, 1),)) for name in SORT_FIELDS)
INDEXES: dict[str, list[IndexSpec]] = {
    PROPOSALS: [
        *_SORTED,
        *(IndexSpec((("work_id", 1), (name, 1))) for name in SORT_FIELDS),
        # A state filter with any sort walks one index in order (measured: 決裁中 sorted by
        # 受付日 over 100,000 proposals took seconds without it).
        *(IndexSpec((("state", 1), (name, 1))) for name in SORT_FIELDS),
        IndexSpec((("acl", 1), ("updated_at", 1))),
        IndexSpec((("waiting", 1), ("requested_answer_date", 1))),
        IndexSpec((("state", 1), ("updated_at", 1))),
        IndexSpec((("work_id", 1), ("number", 1))),
        # A proposer's own drafts never submitted (the lists' third sub-query). One field on
        # purpose: with a second one, SQLite's planner skip-scanned it for "revision >= 1" of
        # the other sub-queries and sorted every row (4 s over 100,000 proposals).
        IndexSpec((("proposer_id", 1),)),
    ],
    FORMS: [IndexSpec((("org_id", 1), ("code", 1)))],
    FORM_VERSIONS: [IndexSpec((("form_id", 1), ("number", 1)), unique=True)],
    REVISIONS: [IndexSpec((("proposal_id", 1), ("revision", 1)), unique=True)],
    PREMEETINGS: [
        IndexSpec((("work_id", 1), ("updated_at", 1))),
        IndexSpec((("acl", 1), ("updated_at", 1))),
    ],
}


async def ensure_indexes(records: RecordStore) -> None:
    for collection, specs in INDEXES.items():
        await records.ensure_indexes(collection, specs)


def work_principal(work_id: str) -> str:
    return f"pwork:{work_id}"


def org_principal(org_id: str) -> str:
    return f"porg:{org_id}"


def user_principal(user_id: str) -> str:
    return f"puser:{user_id}"


def proposal_acl(proposal: Mapping[str, Any]) -> list[str]:
    """Who may read: the proposer alone while it is a draft that was never submitted; then
    every reader of the work (members, and the orderer's org-wide readers)."""
    if proposal.get("state") == "draft" and not proposal.get("revision"):
        return [user_principal(str(proposal["proposer_id"]))]
    acl = [work_principal(str(proposal["work_id"]))]
    if proposal.get("orderer_org_id"):
        acl.append(org_principal(str(proposal["orderer_org_id"])))
    return acl


@dataclass(frozen=True)
class ProposalResource:
    """What the proposal rules decide on: the work (with the subject's roles there) and the
    proposal (None for "a proposal in this work", e.g. creating one or listing)."""

    work: WorkContext
    proposal: Mapping[str, Any] | None = None
    on_route: bool = False  # the subject is an approver or viewer of the current route
    extra: Mapping[str, Any] = field(default_factory=dict)
