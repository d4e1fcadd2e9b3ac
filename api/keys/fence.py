"""The write fence of an erasure (issue 12 "Bad input and faults": nothing kept that should
be erased; seed 001 別表3 12(2) 削除したデータは再現できない).

From the moment an erasure of a scope starts (its ``erasures`` record ``running``) until
forever after (``done``, or a key destroyed by a restore's ledger), nothing new is written
into the scope: a write is refused with 410 ``erased`` (problem+json, Japanese) before
anything is stored. Where it holds:

- every object: a destroyed key makes the blob adapters refuse a put or append into
  ``s/<scope>/`` (``KeyDestroyed``, 410; the key ring never makes a new key for a destroyed
  scope, ``api.keys.ring``), and ``ContentStore.adopt`` refuses to record content into a
  fenced scope (the window between ``running`` and the key's destruction);
- the work's collaboration records (``wc-``): posts and replies, bulk posts, attachments
  (tus uploads and form parts), proposals (new, edited, deleted) and schedule entries linked
  to the work; archive writes (``wa-``): files uploaded into the work's tree (form or tus:
  ``NodeService.scope_for``) and received deliverables (``WorkService.load``);
- an organization's own files (``o-``): attachments without a work.

A write admitted an instant before the fence went up and committed after the erasure's
records step is removed by the erasure's last step (``api.keys.erasure.finish`` deletes the
scope's records once more after its objects).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.errors import ErasedContent
from api.keys import scopes

if TYPE_CHECKING:
    from api.container import Container
    from storage.ports import RecordStore

# ``erasures`` states from which a scope takes no new data (``api.keys.erasure``).
FENCED = frozenset({"running", "key_destroyed", "records_erased", "done"})

# Actions on a work (``WorkService.load``) that write into one of its scopes.
_COLLAB_ACTIONS = ("bulletins.post", "bulletins.bulk", "attachments.write")
_ARCHIVE_ACTIONS = ("deliverables.receive",)


class ScopeErased(ErasedContent):
    """A write into a scope being erased or erased (410 ``erased``)."""

    title = "このデータは消去中または消去済みのため、登録・変更できません。"


def _detail(scope: str) -> str:
    kind, _ = scopes.parse(scope)
    what = {
        scopes.COLLAB: "この工事・業務の情報共有データ",
        scopes.ARCHIVE: "この工事・業務の電子成果品（保管）",
        scopes.ORG: "この組織のデータ",
    }[kind]
    return f"{what}は消去の手続き中、または消去済みです（{scope}）。新しい登録はできません。"


async def erasing(records: RecordStore, scope: str) -> bool:
    """Whether an erasure of ``scope`` has started (or finished): one record read."""
    record = await records.get("erasures", scope)
    return record is not None and record.get("state") in FENCED


async def ensure_open(container: Container, scope: str) -> None:
    """Refuse (410 ``erased``) a write into ``scope`` once its erasure started or its key
    is destroyed (a restore re-applies erasures without their ``erasures`` record)."""
    if await erasing(container.records, scope) or await container.keys.destroyed(scope):
        raise ScopeErased(_detail(scope), scope=scope)


async def ensure_content_open(records: RecordStore, scope: str) -> None:
    """``ensure_open`` for the content store, which sees only the records (the key itself
    refuses the object's write once destroyed)."""
    if await erasing(records, scope):
        raise ScopeErased(_detail(scope), scope=scope)


def written_by(work_id: str, action: str) -> tuple[str, ...]:
    """The scopes of work ``work_id`` that ``action`` writes into (none for reads and for
    actions on the work itself)."""
    if action in _COLLAB_ACTIONS:
        return (scopes.collab(work_id),)
    if action in _ARCHIVE_ACTIONS:
        return (scopes.archive(work_id),)
    return ()
