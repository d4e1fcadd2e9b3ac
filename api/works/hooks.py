"""Reactions of other modules to membership changes, run in the unit of work of the change.

A module whose records depend on who is a member of a work, with which role, while the work
is in which status (the board's unread rows, ``api.bulletins.unread``) registers a hook here;
``api.works.members`` calls it when a member's role changes or a member leaves, and
``api.works.service`` for every member when the work is archived. The works module imports no
other domain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from storage.ports import RecordStore

# (records of the open unit of work, work id, user id)
MemberHook = Callable[[RecordStore, str, str], Awaitable[None]]
_MEMBER_HOOKS: list[MemberHook] = []


def on_member_changed(hook: MemberHook) -> None:
    """Call ``hook`` after a member's role changed, they left, or the work was archived."""
    if hook not in _MEMBER_HOOKS:
        _MEMBER_HOOKS.append(hook)


async def member_changed(records: RecordStore, work_id: str, user_id: str) -> None:
    for hook in _MEMBER_HOOKS:
        await hook(records, work_id, user_id)
