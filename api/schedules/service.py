"""Personal schedule entries (seed 001 別表1-1 7(1)-(5), 別表1-2 7(1)-(5)): create, change,
delete and read one's own entries, all-day or timed, with a place, linked to works or not,
recurring (RFC 5545 RRULE/RDATE/EXDATE) with single occurrences edited or cancelled; and the
views over a range: one's own, or every member of all or chosen works on one screen (7(2)),
each entry shown in full or as busy time only (``api.schedules.access``).

One entry may concern several works at once (7(3): a supervisor registers, changes and
deletes an entry in several works together): it is one series with several ``work_ids``, so
a change reaches every work at once and nothing can drift apart; each change is audited once
with the works it touches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from api.audit.service import AuditLog
from api.errors import (
    Forbidden,
    NotAuthenticated,
    NotFoundError,
    StaleVersionError,
    ValidationFailed,
)
from api.keys import scopes
from api.keys.fence import ensure_open
from api.kit.clock import to_iso
from api.kit.ids import is_id, new_id
from api.master.days import load_calendar
from api.permissions.policy import Subject, WorkContext
from api.schedules import months
from api.schedules.access import Relations, my_memberships, relations
from api.schedules.entries import (
    SHORT_SPAN,
    NoOccurrence,
    compile_stored,
    locals_of,
    parse_rid,
    series_of,
    stored_local,
    time_fields,
    to_local,
)
from api.schedules.models import ENTRIES
from api.schedules.recurrence import Local, RuleError, format_local, zone
from api.schedules.schemas import EntryCreate, EntryUpdate, OccurrenceUpdate
from api.schedules.views import (
    UNKNOWN,
    VIEW_FIELDS,
    Prepared,
    StoredSeries,
    Unknown,
    cached,
    first_view,
    in_range,
    occurrences,
    prepare,
    render,
)
from storage.query import Eq, In, Page, Query, Range, Record

if TYPE_CHECKING:
    from api.container import Container

_LINKABLE = ("registered", "in_progress")


def target(entry_id: str) -> str:
    return f"{ENTRIES}/{entry_id}"


class ScheduleService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.policy = container.policy
        self.settings = container.settings.schedules

    # -- helpers ---------------------------------------------------------------------------
    def _me(self, subject: Subject | None) -> Subject:
        if subject is None:
            raise NotAuthenticated()
        self.policy.require(subject, "schedules.use")
        return subject

    def _tz(self, name: str | None) -> str:
        tz = (name or self.settings.timezone).strip()
        try:
            zone(tz)
        except RuleError as exc:
            raise ValidationFailed(str(exc), field="tz") from exc
        return tz

    async def _own(self, subject: Subject, entry_id: str) -> Record:
        """The entry if it is the subject's; 404 when unknown or not even visible in full,
        403 when visible (a work shared with its owner) but someone else's."""
        entry = await self.records.get(ENTRIES, entry_id) if is_id(entry_id) else None
        if entry is None:
            raise NotFoundError()
        if entry["owner_id"] != subject.user_id:
            rel = Relations(subject.user_id, await my_memberships(self.records, subject.user_id))
            if rel.full(entry):
                raise Forbidden("他の利用者の予定は変更できません。")
            raise NotFoundError()
        return entry

    async def check_works(self, subject: Subject, work_ids: Sequence[str]) -> list[str]:
        """The works an entry may be linked to: each one the subject is a member of while it
        runs (7(1)(3)). Unknown or unreadable: 400 naming ``work_ids`` (their existence is not
        told); readable but not allowed: 403."""
        from api.works.service import WorkService

        ids = sorted(set(work_ids))
        works = WorkService.of(self.container)
        for wid in ids:
            work = await self.records.get("works", wid) if is_id(wid) else None
            ctx = await works.context(subject, work) if work else None
            if work is None or ctx is None or not self.policy.can(subject, "works.read", ctx):
                raise ValidationFailed("案件が見つかりません。", field="work_ids")
            if not self.policy.can(subject, "schedules.link_work", ctx):
                raise Forbidden(
                    "この案件には予定を登録できません(案件のメンバーのみ、施工中まで)。"
                )
            # the work's schedule entries are its collaboration data (erased with wc-)
            await ensure_open(self.container, scopes.collab(wid))
        return ids

    async def _audit(
        self, uow: Any, subject: Subject, action: str, entry_id: str, **kw: Any
    ) -> None:
        await AuditLog(uow.records, self.clock).record(subject, action, target(entry_id), **kw)

    # -- commands --------------------------------------------------------------------------
    async def create(self, subject: Subject | None, data: EntryCreate) -> Record:
        me = self._me(subject)
        tz = self._tz(data.tz)
        works = await self.check_works(me, data.work_ids)
        try:
            fields = time_fields(
                tz=tz,
                all_day=data.all_day,
                start=to_local(data.start, tz, data.all_day, "start"),
                end=to_local(data.end, tz, data.all_day, "end"),
                rrule=data.rrule,
                rdates=locals_of(data.rdates, tz, data.all_day, "rdates"),
                exdates=locals_of(data.exdates, tz, data.all_day, "exdates"),
            )
        except NoOccurrence as exc:
            raise ValidationFailed(exc.detail, field="exdates") from exc
        now = to_iso(self.clock.now())
        entry_id = new_id()
        record: Record = {
            "id": entry_id,
            "owner_id": me.user_id,
            "org_id": me.org_id,
            "title": data.title.strip(),
            "location": data.location.strip(),
            "description": data.description,
            **fields,
            "visibility": data.visibility,
            "work_ids": works,
            "uid": f"{entry_id}@kura",
            "sequence": 0,
            "source": {"kind": "kura"},
            "created_by": me.user_id,
            "created_at": now,
            "updated_at": now,
        }
        async with self.container.uow() as uow:
            stored = await uow.records.insert(ENTRIES, record)
            await months.changed(uow.records, [me.user_id])
            await self._audit(
                uow, me, "schedules.created", entry_id, after=stored, detail={"works": works}
            )
        return stored

    async def get(self, subject: Subject | None, entry_id: str) -> tuple[Record, Relations]:
        """The series for a reader who may see it in full; 404 otherwise (busy-only readers
        know the time only, not that this record exists)."""
        me = self._me(subject)
        entry = await self.records.get(ENTRIES, entry_id) if is_id(entry_id) else None
        if entry is None:
            raise NotFoundError()
        rel = Relations(me.user_id, await my_memberships(self.records, me.user_id))
        if not rel.full(entry):
            raise NotFoundError()
        return entry, rel

    async def update(self, subject: Subject | None, entry_id: str, data: EntryUpdate) -> Record:
        me = self._me(subject)
        entry = await self._own(me, entry_id)
        if entry["version"] != data.version:
            raise StaleVersionError(current_version=entry["version"])
        changes: Record = {}
        for name in ("title", "location", "description", "visibility"):
            value = getattr(data, name)
            if value is not None:
                changes[name] = value.strip() if name in ("title", "location") else value
        if data.work_ids is not None:
            changes["work_ids"] = await self.check_works(me, data.work_ids)
        if any(
            getattr(data, f) is not None
            for f in ("start", "end", "all_day", "tz", "rrule", "exdates", "rdates")
        ):
            changes.update(self._retimed(entry, data))
        if not changes:
            return entry
        changes["sequence"] = int(entry.get("sequence") or 0) + 1
        changes["updated_at"] = to_iso(self.clock.now())
        async with self.container.uow() as uow:
            stored = await uow.records.update(ENTRIES, entry_id, changes, data.version)
            await months.changed(uow.records, [str(entry["owner_id"])])
            await self._audit(
                uow,
                me,
                "schedules.updated",
                entry_id,
                before=entry,
                after=stored,
                detail={
                    "works": sorted(
                        set(entry.get("work_ids") or []) | set(stored.get("work_ids") or [])
                    )
                },
            )
        return stored

    def _retimed(self, entry: Record, data: EntryUpdate) -> Record:
        """New time fields of the series. Moving the series keeps its exceptions on the same
        occurrences (EXDATE and RECURRENCE-ID keys move by the same wall-clock shift);
        changing the zone or all-day drops them, as their values no longer fit."""
        tz = self._tz(data.tz) if data.tz is not None else str(entry["tz"])
        all_day = bool(entry["all_day"]) if data.all_day is None else data.all_day
        keep = tz == entry["tz"] and all_day == bool(entry["all_day"])
        old_start = stored_local(str(entry["start"]))
        start = to_local(data.start, tz, all_day, "start") if data.start else old_start
        if data.end:
            end = to_local(data.end, tz, all_day, "end")
        elif keep:
            old_end = stored_local(str(entry["end"]))
            end = start + (old_end - old_start)
        else:
            raise ValidationFailed("終了も指定してください。", field="end")
        rrule = entry.get("rrule") if data.rrule is None else data.rrule
        shift = start - old_start if keep else timedelta(0)

        def moved(values: Sequence[str]) -> list[Local]:
            return [stored_local(v) + shift for v in values]

        if data.exdates is not None:
            exdates = locals_of(data.exdates, tz, all_day, "exdates")
        else:
            exdates = moved(entry.get("exdates") or []) if keep else []
        rdates = (
            locals_of(data.rdates, tz, all_day, "rdates")
            if data.rdates is not None
            else (moved(entry.get("rdates") or []) if keep else [])
        )
        overrides: dict[str, Any] = {}
        if keep:
            for key, value in (entry.get("overrides") or {}).items():
                overrides[format_local(stored_local(key) + shift)] = value
        try:
            fields = time_fields(
                tz=tz,
                all_day=all_day,
                start=start,
                end=end,
                rrule=rrule,
                rdates=rdates,
                exdates=exdates,
                overrides=overrides,
            )
        except NoOccurrence as exc:
            raise ValidationFailed(exc.detail, field="exdates") from exc
        if fields["overrides"] and (data.rrule is not None):
            fields = self._drop_orphans(fields)
        return fields

    @staticmethod
    def _drop_orphans(fields: Record) -> Record:
        """After a rule change, edited occurrences the new rule no longer has are dropped."""
        series = compile_stored(fields)  # not series_of: its cache is keyed by id and version
        kept: dict[str, Any] = {}
        for key, value in fields["overrides"].items():
            at = stored_local(key)
            moment = at if isinstance(at, datetime) else datetime.combine(at, datetime.min.time())
            if any(True for _ in series._instants(moment, moment)):
                kept[key] = value
        return {**fields, "overrides": kept}

    async def delete(self, subject: Subject | None, entry_id: str, version: int) -> None:
        me = self._me(subject)
        entry = await self._own(me, entry_id)
        async with self.container.uow() as uow:
            await uow.records.delete(ENTRIES, entry_id, version)
            await months.changed(uow.records, [str(entry["owner_id"])])
            await self._audit(
                uow,
                me,
                "schedules.deleted",
                entry_id,
                before=entry,
                detail={"works": entry.get("work_ids") or []},
            )

    def _instance(self, entry: Record, rid_text: str) -> Local:
        """The recurrence id ``rid_text`` if the series has such an occurrence; 404 else."""
        rid = parse_rid(rid_text)
        if isinstance(rid, datetime) == bool(entry["all_day"]):
            raise NotFoundError("その回は見つかりません。")
        series = series_of(entry)
        moment = rid if isinstance(rid, datetime) else datetime.combine(rid, datetime.min.time())
        known = rid in series.overrides or any(True for _ in series._instants(moment, moment))
        if not known or rid in series.exdates:
            raise NotFoundError("その回は見つかりません。")
        return rid

    async def edit_occurrence(
        self, subject: Subject | None, entry_id: str, rid_text: str, data: OccurrenceUpdate
    ) -> Record:
        """Edit one occurrence only (an override keyed by its RECURRENCE-ID)."""
        me = self._me(subject)
        entry = await self._own(me, entry_id)
        if entry["version"] != data.version:
            raise StaleVersionError(current_version=entry["version"])
        rid = self._instance(entry, rid_text)
        key = format_local(rid)
        tz, all_day = str(entry["tz"]), bool(entry["all_day"])
        current = dict((entry.get("overrides") or {}).get(key) or {})
        base_start = stored_local(current["start"]) if current else rid
        dur = stored_local(str(entry["end"])) - stored_local(str(entry["start"]))
        start = to_local(data.start, tz, all_day, "start") if data.start else base_start
        if data.end:
            end = to_local(data.end, tz, all_day, "end")
        elif current and not data.start:
            end = stored_local(current["end"])
        else:
            end = start + dur
        if end < start or (all_day and end == start):
            raise ValidationFailed("終了は開始より後にしてください。", field="end")
        over: dict[str, Any] = {**current, "start": format_local(start), "end": format_local(end)}
        for name in ("title", "location", "description"):
            value = getattr(data, name)
            if value is not None:
                over[name] = value.strip() if name != "description" else value
        overrides = {**(entry.get("overrides") or {}), key: over}
        return await self._save_times(
            me, entry, {"overrides": overrides}, "schedules.occurrence_updated", {"occurrence": key}
        )

    async def cancel_occurrence(
        self, subject: Subject | None, entry_id: str, rid_text: str, version: int
    ) -> Record | None:
        """Cancel one occurrence (EXDATE). When none is left the whole entry is deleted
        (module-anchors §1: EXDATE removing the only instance must not fail); returns None
        then."""
        me = self._me(subject)
        entry = await self._own(me, entry_id)
        if entry["version"] != version:
            raise StaleVersionError(current_version=entry["version"])
        key = format_local(self._instance(entry, rid_text))
        overrides = {k: v for k, v in (entry.get("overrides") or {}).items() if k != key}
        exdates = sorted({*(entry.get("exdates") or []), key})
        try:
            return await self._save_times(
                me,
                entry,
                {"exdates": exdates, "overrides": overrides},
                "schedules.occurrence_cancelled",
                {"occurrence": key},
            )
        except NoOccurrence:
            async with self.container.uow() as uow:
                await uow.records.delete(ENTRIES, entry_id, entry["version"])
                await months.changed(uow.records, [str(entry["owner_id"])])
                await self._audit(
                    uow,
                    me,
                    "schedules.deleted",
                    entry_id,
                    before=entry,
                    detail={"occurrence": key, "last_occurrence": True},
                )
            return None

    async def _save_times(
        self, me: Subject, entry: Record, change: Record, action: str, detail: dict[str, Any]
    ) -> Record:
        merged = {**entry, **change}
        fields = time_fields(
            tz=str(merged["tz"]),
            all_day=bool(merged["all_day"]),
            start=stored_local(str(merged["start"])),
            end=stored_local(str(merged["end"])),
            rrule=merged.get("rrule"),
            rdates=[stored_local(x) for x in merged.get("rdates") or []],
            exdates=[stored_local(x) for x in merged.get("exdates") or []],
            overrides=merged.get("overrides") or {},
        )
        fields["sequence"] = int(entry.get("sequence") or 0) + 1
        fields["updated_at"] = to_iso(self.clock.now())
        async with self.container.uow() as uow:
            stored = await uow.records.update(ENTRIES, entry["id"], fields, entry["version"])
            await months.changed(uow.records, [str(entry["owner_id"])])
            await self._audit(
                uow, me, action, str(entry["id"]), before=entry, after=stored, detail=detail
            )
        return stored

    # -- reading ---------------------------------------------------------------------------
    def parse_range(self, frm: str, to: str) -> tuple[datetime, datetime]:
        """``from``/``to`` as dates (midnight in the system's zone) or datetimes with an
        offset; ``to`` exclusive; at most ``max_view_days`` apart."""
        tz = zone(self.settings.timezone)

        def moment(text: str, name: str) -> datetime:
            try:
                if len(text) == 10:
                    return datetime.combine(date.fromisoformat(text), datetime.min.time(), tz)
                value = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
            except ValueError as exc:
                raise ValidationFailed("期間の形式が正しくありません。", field=name) from exc
            return value if value.tzinfo else value.replace(tzinfo=tz)

        lo, hi = moment(frm, "from"), moment(to, "to")
        if hi <= lo:
            raise ValidationFailed("期間の終わりは始まりより後にしてください。", field="to")
        if hi - lo > timedelta(days=self.settings.max_view_days):
            raise ValidationFailed(
                f"一度に表示できる期間は {self.settings.max_view_days} 日までです。", field="to"
            )
        if lo.year < 1900 or hi.year > 2200:
            raise ValidationFailed("1900年から2200年までの期間を指定してください。", field="from")
        return lo, hi

    async def view_scope(
        self,
        subject: Subject | None,
        work_ids: Sequence[str],
        user_ids: Sequence[str],
        all_works: bool,
    ) -> tuple[Subject, Relations, set[str]]:
        """The reader, their relations and whose entries the view shows: their own; with
        works (chosen, or all of theirs), every member of them (7(2)); ``user_ids`` narrows.
        A work the reader may not read: 404; one they read without being a member: 403."""
        me = self._me(subject)
        mine = await my_memberships(self.records, me.user_id)
        chosen = sorted(set(work_ids))
        for wid in chosen:
            if wid in mine:
                continue
            from api.works.service import WorkService

            works = WorkService.of(self.container)
            work = await works.load(me, wid, "works.read")
            ctx: WorkContext = await works.context(me, work)
            self.policy.require(me, "schedules.view_work", ctx)
        if all_works:
            chosen = sorted(set(chosen) | set(mine))
        rel = await relations(self.records, me.user_id, chosen, mine)
        owners = {me.user_id, *rel.members}
        if user_ids:
            wanted = set(user_ids)
            if wanted - owners:
                raise NotFoundError("利用者が見つかりません。")
            owners = wanted
        return me, rel, owners

    async def entries_between(
        self,
        owners: set[str],
        lo: datetime,
        hi: datetime,
        linked: str | None = None,
        fields: tuple[str, ...] = (),
        each: Callable[[list[Record]], None] | None = None,
    ) -> list[Record]:
        """Series of ``owners`` whose range overlaps ``[lo, hi)`` (or, with ``linked``, the
        series concerning that work); with ``fields``, only those (``Query.fields``);
        ``each`` is called with every page's series as it comes, while the store reads on."""
        lo_iso, hi_iso = to_iso(lo), to_iso(hi)
        found: list[Record] = []
        # (conditions, sort): each sorted as the index it walks, so the store reads only the
        # matching records (sorted by id it would scan the collection in id order). The
        # bound the index does not serve is checked here on what it yields (in the store it
        # would parse each record's JSON twice more).
        Sort = tuple[tuple[str, Literal[1, -1]], ...]
        queries: list[tuple[tuple[Any, ...], Sort]] = []
        if linked is not None:
            queries.append(
                (
                    (
                        In("work_ids", (linked,)),
                        Range("range_end", gte=lo_iso),
                        Range("range_start", lt=hi_iso),
                    ),
                    (("range_end", 1),),
                )
            )
        else:
            # Short entries start at most SHORT_SPAN before the range; long series are found
            # by their end (so years of past single entries are never walked).
            short_from = to_iso(lo - SHORT_SPAN)
            ids = sorted(owners)
            for i in range(0, len(ids), 500):
                chunk = In("owner_id", tuple(ids[i : i + 500]))
                short = Range("range_start", gte=short_from, lt=hi_iso)
                queries.append(
                    (
                        (chunk, Eq("long", False), short),
                        (("owner_id", 1), ("long", 1), ("range_start", 1)),
                    )
                )
                queries.append(
                    (
                        (chunk, Eq("long", True), Range("range_end", gte=lo_iso)),
                        (("owner_id", 1), ("long", 1), ("range_end", 1)),
                    )
                )
        wanted = (
            tuple(dict.fromkeys((*fields, "owner_id", "range_start", "range_end")))
            if fields
            else ()
        )

        def fetch(where: tuple[Any, ...], sort: Sort, cursor: str | None) -> asyncio.Future[Page]:
            query = Query(where=where, sort=sort, limit=1000, cursor=cursor, fields=wanted)
            return asyncio.ensure_future(self.records.find(ENTRIES, query))

        async def read(where: tuple[Any, ...], sort: Sort) -> list[Record]:
            out: list[Record] = []
            pending = fetch(where, sort, None)
            try:
                while True:
                    page = await pending
                    cursor = page.next_cursor
                    if cursor:
                        first = where[0]
                        if isinstance(first, In) and first.field == "owner_id" and page.items:
                            # The next page asks only for the owners not passed yet: with
                            # every owner of the chunk still listed, the store would walk the
                            # index ranges of the owners already read once more to find
                            # where the cursor resumes.
                            last = str(page.items[-1]["owner_id"])
                            rest = tuple(
                                o for o in first.values if isinstance(o, str) and o >= last
                            )
                            where = (In("owner_id", rest), *where[1:])
                        # the next page is read while this one is handed on
                        pending = fetch(where, sort, cursor)
                    items = [
                        e
                        for e in page.items
                        if e["range_start"] < hi_iso
                        and e["range_end"] >= lo_iso
                        and (linked is None or e["owner_id"] in owners)
                    ]
                    out.extend(items)
                    if each is not None:
                        each(items)
                    if not cursor:
                        return out
            finally:
                if not pending.done():
                    pending.cancel()

        # Side by side: one query's SQL runs on a reader thread while another's rows decode
        # (and, with ``each``, while the rows already read are prepared).
        for part in await asyncio.gather(*(read(where, sort) for where, sort in queries)):
            found.extend(part)
        return found

    async def view(
        self,
        subject: Subject | None,
        frm: str,
        to: str,
        *,
        work_ids: Sequence[str] = (),
        user_ids: Sequence[str] = (),
        all_works: bool = False,
    ) -> tuple[bytes, bool]:
        """Occurrences in the range as the JSON list of ``OccurrenceRead`` (sorted by start)
        and whether the answer was cut."""
        lo, hi = self.parse_range(frm, to)
        me, rel, owners = await self.view_scope(subject, work_ids, user_ids, all_works)
        cap = self.settings.max_view_occurrences
        zone_name = self.settings.timezone
        spans = months.month_span(lo, hi, zone(zone_name))
        stored: list[tuple[str, list[StoredSeries]]] = []
        names_task = asyncio.ensure_future(self.names(owners))
        try:
            if spans:
                # Whose months are stored (``api.schedules.months``): their occurrences at once
                stored = await months.read(self.records, owners, spans, zone_name)
            rest = owners - {owner for owner, _ in stored}
            series = await self._series(rest, lo, hi) if rest else []
            names = await names_task
        finally:
            if not names_task.done():
                names_task.cancel()
        if rest and spans:
            months.fill_later(
                self.container.spawn, self.records, rest, spans, zone_name, self._view_series
            )
        bounds = (to_iso(lo), to_iso(hi), len(spans) > 1)
        shown = in_range(series, lo, hi)
        return render(shown, rel, names, me.user_id, cap, stored, bounds)

    async def _view_series(self, owners: set[str], lo: datetime, hi: datetime) -> list[Record]:
        return await self.entries_between(owners, lo, hi, fields=VIEW_FIELDS)

    async def _series(self, owners: set[str], lo: datetime, hi: datetime) -> list[Prepared | None]:
        """The prepared series of ``owners`` overlapping ``[lo, hi)``, read from the store."""
        if first_view(owners, lo, hi):
            # A range this process has not shown these people before has next to nothing
            # prepared for it: the fields a view needs are read at once, and each page of
            # series is prepared and expanded while the store reads the next.
            lo_iso, hi_iso = to_iso(lo), to_iso(hi)

            def warm(page: list[Record]) -> None:
                for entry in page:
                    one = prepare(entry)
                    if one is not None:
                        occurrences(one, lo, hi, lo_iso, hi_iso)

            found = await self.entries_between(owners, lo, hi, fields=VIEW_FIELDS, each=warm)
            # in the order read (not as the pages came), so a cut answer is always the same
            return [prepare(e) for e in found]
        # Shown before: first only which series overlap (their ids and versions: a few small
        # fields); the fields a view needs are read only for the versions this process has
        # not prepared (``views.cached``), so a month seen before decodes none of its records.
        stubs = await self.entries_between(owners, lo, hi, fields=("range_end",))
        return await self.prepared(stubs, owners)

    async def prepared(self, stubs: Sequence[Record], owners: set[str]) -> list[Prepared | None]:
        """The prepared series of ``stubs`` (records with id and version), in their order:
        cached, or read with ``VIEW_FIELDS`` and prepared. A series changed since its stub
        was read comes in its newer version (the expansion tests the range again); one
        deleted since is left out."""
        found = [cached(str(s["id"]), int(s["version"])) for s in stubs]
        missing = sorted({str(s["id"]) for s, p in zip(stubs, found, strict=True) if p is UNKNOWN})
        fresh: dict[str, Prepared | None] = {}

        async def read(ids: tuple[str, ...]) -> list[Record]:
            query = Query(where=(In("id", ids),), limit=1000, fields=VIEW_FIELDS)
            return (await self.records.find(ENTRIES, query)).items

        chunks = [tuple(missing[i : i + 500]) for i in range(0, len(missing), 500)]
        for part in await asyncio.gather(*(read(c) for c in chunks)):
            for entry in part:
                fresh[str(entry["id"])] = prepare(entry)
        out: list[Prepared | None] = []
        for stub, known in zip(stubs, found, strict=True):
            one = fresh.get(str(stub["id"])) if known is UNKNOWN else known
            if one is not None and not isinstance(one, Unknown) and one.owner in owners:
                out.append(one)
        return out

    async def names(self, user_ids: set[str]) -> dict[str, str]:
        """Display names of ``user_ids`` (only the two fields, not whole user records)."""
        ids = sorted(user_ids)

        async def read(chunk: tuple[str, ...]) -> list[Record]:
            query = Query(where=(In("id", chunk),), limit=1000, fields=("name", "login_id"))
            return (await self.records.find("users", query)).items

        chunks = [tuple(ids[i : i + 500]) for i in range(0, len(ids), 500)]
        out: dict[str, str] = {}
        for part in await asyncio.gather(*(read(c) for c in chunks)):
            for u in part:
                out[str(u["id"])] = str(u.get("name") or u.get("login_id") or "")
        return out

    async def holidays(self, subject: Subject | None, frm: str, to: str) -> list[dict[str, str]]:
        """Named non-business days in the range from the master calendar (holidays, 12/29-1/3
        closure, custom closed days; seed 001 別表1-1 8(4))."""
        me = self._me(subject)
        lo, hi = self.parse_range(frm, to)
        # The user's organization's calendar (its own closed days over the global ones).
        cal = await load_calendar(self.records, me.org_id)
        tz = zone(self.settings.timezone)
        day, last = lo.astimezone(tz).date(), (hi.astimezone(tz) - timedelta(microseconds=1)).date()
        out: list[dict[str, str]] = []
        while day <= last:
            reason = cal.reason(day)
            if reason is not None and reason.kind.value != "weekend":
                out.append(
                    {"date": day.isoformat(), "name": reason.name, "kind": reason.kind.value}
                )
            day += timedelta(days=1)
        return out
