"""Permission rules of the schedules module (actions ``schedules.*``).

The entries themselves are personal: each belongs to its owner, and who sees what of another
person's entries is decided per entry by ``api.schedules.access`` (seed 001 別表1-1 7(2)(4)(5)).
These rules decide the coarse questions."""

from __future__ import annotations

from api.permissions.policy import Resource, Subject, WorkContext

_RUNNING = ("registered", "in_progress")


class ScheduleRules:
    def can(self, subject: Subject, action: str, resource: Resource) -> bool:
        if action == "schedules.use":
            # seed 001 別表1-1 7(1): every user registers, changes, deletes and reads their own
            # entries (operators and issuers included: a personal schedule needs no work).
            return True
        if isinstance(resource, WorkContext):
            if action == "schedules.view_work":
                # 7(2)(4): the schedules of a work's members are looked at by its members.
                return bool(resource.roles)
            if action == "schedules.link_work":
                # 7(1)(3): an entry concerns works its owner is a member of, while they run
                # (a completed or archived work takes no new appointments).
                return bool(resource.roles) and resource.status in _RUNNING
            if action == "schedules.feed_work":
                # The iCalendar feed of a work's schedule: its members (7(6) export side).
                return bool(resource.roles)
        return False
