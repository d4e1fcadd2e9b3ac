"""Entries as values: parse what a person or a file gives, check it, and derive what views need
(the UTC range of every occurrence). Pure: no store, no policy."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from api.errors import ValidationFailed
from api.kit.clock import to_iso
from api.schedules.models import MAX_EXDATES, MAX_OVERRIDES, MAX_RDATES
from api.schedules.recurrence import (
    Local,
    RuleError,
    Series,
    compile_series,
    format_local,
    parse_local,
    zone,
)
from storage.query import Record

FOREVER_ISO = "9999-12-31T00:00:00.000000Z"
# A series whose occurrences span more than this is "long" (recurring, or a long event): views
# find short ones by their start, long ones by their end (``ScheduleService.entries_between``).
SHORT_SPAN = timedelta(days=7)
TIME_FIELDS = ("tz", "all_day", "start", "end", "rrule", "rdates", "exdates", "overrides")


def to_local(value: str, tz_name: str, all_day: bool, field: str) -> Local:
    """A wall-clock value of zone ``tz_name`` from ``value``: a date for all-day entries; for
    timed ones a naive ``YYYY-MM-DDTHH:MM[:SS]`` (already wall time) or one with an offset
    or ``Z`` (converted). ``ValidationFailed`` naming ``field`` otherwise."""
    text = value.strip()
    try:
        if all_day:
            if len(text) != 10:
                raise ValueError(text)
            return date.fromisoformat(text)
        if len(text) == 10:
            raise ValueError(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        what = "日付(YYYY-MM-DD)" if all_day else "日時(YYYY-MM-DDTHH:MM)"
        raise ValidationFailed(f"{what}の形式で指定してください。", field=field) from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone(tz_name)).replace(tzinfo=None)
    if not 1900 <= moment.year <= 2200:
        raise ValidationFailed("1900年から2200年までの日時を指定してください。", field=field)
    return moment.replace(microsecond=0)


def rid_key(value: Local) -> str:
    """The compact recurrence id used in URLs: ``20260601T090000`` or ``20260601``."""
    if isinstance(value, datetime):
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")


def parse_rid(text: str) -> Local:
    try:
        if len(text) == 8:
            return datetime.strptime(text, "%Y%m%d").date()
        return datetime.strptime(text, "%Y%m%dT%H%M%S")
    except ValueError as exc:
        raise ValidationFailed("繰り返しの回の指定が正しくありません。") from exc


_CACHE: OrderedDict[tuple[str, int], Series] = OrderedDict()
_CACHE_SIZE = 20_000


def series_of(entry: Mapping[str, Any]) -> Series:
    """The compiled series of a stored entry (cached per id and version; values were checked
    when stored)."""
    key = (str(entry["id"]), int(entry.get("version") or 0))
    found = _CACHE.get(key)
    if found is not None:
        _CACHE.move_to_end(key)
        return found
    series = compile_stored(entry)
    _CACHE[key] = series
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return series


def compile_stored(entry: Mapping[str, Any]) -> Series:
    return compile_series(
        tz_name=str(entry["tz"]),
        all_day=bool(entry["all_day"]),
        start=str(entry["start"]),
        end=str(entry["end"]),
        rrule=entry.get("rrule") or None,
        rdates=entry.get("rdates") or (),
        exdates=entry.get("exdates") or (),
        overrides=entry.get("overrides") or None,
    )


def time_fields(
    *,
    tz: str,
    all_day: bool,
    start: Local,
    end: Local,
    rrule: str | None,
    rdates: Iterable[Local] = (),
    exdates: Iterable[Local] = (),
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Record:
    """The stored time fields of a series, checked, with its UTC range. ``ValidationFailed``
    when the values are refused (naming the field), or when no occurrence is left."""
    if isinstance(start, datetime) == all_day or isinstance(end, datetime) == all_day:
        raise ValidationFailed("終日の予定は日付で、時刻のある予定は日時で指定してください。")
    if end < start or (all_day and end == start):
        raise ValidationFailed("終了は開始より後にしてください。", field="end")
    rd = sorted({format_local(x) for x in rdates})
    ex = sorted({format_local(x) for x in exdates})
    if len(rd) > MAX_RDATES or len(ex) > MAX_EXDATES or len(overrides or {}) > MAX_OVERRIDES:
        raise ValidationFailed("繰り返しの例外が多すぎます。")
    fields: Record = {
        "tz": tz,
        "all_day": all_day,
        "start": format_local(start),
        "end": format_local(end),
        "rrule": (rrule or "").strip() or None,
        "rdates": rd,
        "exdates": ex,
        "overrides": dict(overrides or {}),
    }
    try:
        series = compile_stored({**fields, "id": "new"})
    except RuleError as exc:
        raise ValidationFailed(str(exc), field="rrule") from exc
    bounds = series.first_last()
    if bounds is None:
        raise NoOccurrence()
    fields["range_start"] = to_iso(bounds[0])
    fields["range_end"] = FOREVER_ISO if bounds[1].year >= 9999 else to_iso(bounds[1])
    fields["long"] = bounds[1] - bounds[0] > SHORT_SPAN
    return fields


class NoOccurrence(ValidationFailed):
    """Every instance of the series is excluded (callers delete the series instead)."""

    def __init__(self) -> None:
        super().__init__("予定の回がひとつも残りません。")


def locals_of(values: Sequence[str], tz: str, all_day: bool, field: str) -> list[Local]:
    return [to_local(v, tz, all_day, field) for v in values]


def stored_local(value: str) -> Local:
    return parse_local(value)


def utc_bounds(lo: datetime, hi: datetime) -> tuple[str, str]:
    return to_iso(lo.astimezone(UTC)), to_iso(hi.astimezone(UTC))
