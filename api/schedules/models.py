"""Schedules (スケジュール, seed 001 別表1-1 7 / 別表1-2 7) as stored.

Collection ``schedule_entries``: one record per *series* (a single entry is a series of one)::

    {id, version, owner_id, org_id, title, location, description, all_day, tz,
     start, end,                 # wall-clock in ``tz``: "YYYY-MM-DDTHH:MM:SS" or "YYYY-MM-DD"
                                 # (all-day; ``end`` exclusive, as iCalendar's DTEND)
     rrule, rdates: [...], exdates: [...],      # RFC 5545, wall-clock values
     overrides: {"<recurrence id>": {start, end, title?, location?, description?}},
     until,                      # the rule's last instant (COUNT resolved), wall-clock
     visibility: "public" | "private",          # 7(5)
     work_ids: [...],            # the works the entry concerns (7(1)(3)); may be empty
     uid, sequence, source: {kind: "kura" | "ics", import_id?},
     range_start, range_end,     # UTC bounds of every occurrence (views query on them)
     long,                       # bounds more than 7 days apart (recurring, long events)
     created_by, created_at, updated_at}

Nothing is expanded into rows: a view reads the series overlapping its range
(``range_end >= from`` and ``range_start < to``) and expands them in memory
(``api.schedules.recurrence``). ``range_end`` of a rule without end is 9999-12-31.

Collection ``schedule_imports``: one iCalendar import job (state, progress, report).
Collection ``schedule_feeds``: subscription tokens for the iCalendar export (hash only).
"""

from __future__ import annotations

from typing import Final

from storage.ports import IndexSpec

ENTRIES = "schedule_entries"
IMPORTS = "schedule_imports"
FEEDS = "schedule_feeds"

PUBLIC: Final = "public"
PRIVATE: Final = "private"
VISIBILITIES = (PUBLIC, PRIVATE)

DEFAULT_TZ = "Asia/Tokyo"
MAX_WORKS_PER_ENTRY = 50
MAX_OVERRIDES = 1000
MAX_EXDATES = 2000
MAX_RDATES = 1000
MAX_TITLE = 200
MAX_LOCATION = 200
MAX_DESCRIPTION = 5000

ENTRY_INDEXES: tuple[IndexSpec, ...] = (
    # Views: an owner's short entries by their start (a tight window), their long series
    # (recurring) by their end (few per owner); see ScheduleService.entries_between.
    IndexSpec((("owner_id", 1), ("long", 1), ("range_start", 1))),
    IndexSpec((("owner_id", 1), ("long", 1), ("range_end", 1))),
    IndexSpec((("work_ids", 1), ("range_end", 1))),
    IndexSpec((("owner_id", 1), ("uid", 1)), unique=True),
    IndexSpec((("source.import_id", 1),)),
)
IMPORT_INDEXES: tuple[IndexSpec, ...] = (IndexSpec((("owner_id", 1), ("created_at", -1))),)
FEED_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec((("token_hash", 1),), unique=True),
    IndexSpec((("owner_id", 1), ("created_at", -1))),
)
