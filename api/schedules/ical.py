"""iCalendar files (RFC 5545) in and out (seed 001 別表1-1 7(6): schedule data made in the
international standard format and exported by groupware is taken into one's own schedule).

Reading is bounded and per event, never the whole file as one object tree: the text is
decoded once (UTF-8, a BOM accepted; old Japanese exports in CP932 with a warning,
reference §4.1), scanned line by line (unfolded), checked for structure (a file that is not
iCalendar or is cut off is refused before anything is stored), and each VEVENT is parsed on
its own with ``icalendar``. VALARM and ATTACH payloads are dropped unread.

Time zones: a TZID is resolved per file, never through icalendar's process-wide cache of
custom VTIMEZONEs (a TZID defined by one user's file must not shape another's): an IANA name
is used as it is; a Windows name ("Tokyo Standard Time") is mapped; a custom VTIMEZONE is
built and matched to the IANA zone with the same offsets over 1970-2037 (module-anchors §1:
"custom VTIMEZONE ignored"); anything else is an unknown zone and its event is skipped with
the reason. Floating times take X-WR-TIMEZONE, else Asia/Tokyo; with X-WR-TIMEZONE, UTC times
are moved into that zone first (``x_wr_timezone``, as Google exports need), so a weekly
rule keeps its local weekday.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from api.schedules.recurrence import Local, RuleError, format_local, zone

MAX_LINE = 75 * 1000  # one unfolded content line (a huge DESCRIPTION is cut, not a crash)
_DROP_PROPS = ("ATTACH", "X-ALT-DESC")


class IcsError(ValueError):
    """The file as a whole is refused (nothing is stored); the message is Japanese."""


@dataclass
class Scan:
    """A checked file: its events' raw texts and what the calendar says about zones."""

    events: list[str] = field(default_factory=list)
    timezones: dict[str, str] = field(default_factory=dict)  # TZID -> VTIMEZONE text
    x_wr_timezone: str | None = None
    ignored: dict[str, int] = field(default_factory=dict)  # VTODO, VJOURNAL ... counted
    warnings: list[str] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, list[str]]:
    """The text of an iCalendar file and the warnings of reading it."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError as exc:
            raise IcsError("文字コードを判別できません(UTF-16 の内容が壊れています)。") from exc
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError as exc:
        raise IcsError(
            "文字コードを判別できません。"
            "UTF-8 (または Shift_JIS) で保存したファイルを指定してください。"
        ) from exc
    return text, ["UTF-8 ではないため Shift_JIS (CP932) として読み込みました。"]


def lines(text: str) -> Iterator[str]:
    """Unfolded content lines (RFC 5545 3.1), CRLF or LF."""
    current: list[str] = []
    size = 0
    for raw in re.finditer(r"[^\r\n]*(?:\r\n|\n|\r|$)", text):
        line = raw.group(0).rstrip("\r\n")
        if not raw.group(0):
            break
        if line[:1] in (" ", "\t") and current:
            if size < MAX_LINE:
                current.append(line[1:])
                size += len(line)
            continue
        if current:
            yield "".join(current)
        current, size = ([line], len(line)) if line else ([], 0)
    if current:
        yield "".join(current)


def scan(text: str, max_events: int) -> Scan:
    """Check the structure and collect the parts; ``IcsError`` for a file refused whole."""
    out = Scan()
    stack: list[str] = []
    block: list[str] | None = None
    skip_depth = 0  # inside a VALARM (or other sub-component of an event): dropped
    seen_calendar = False
    for line in lines(text):
        if not line.strip():
            continue
        name, _, value = line.partition(":")
        key = name.split(";", 1)[0].strip().upper()
        word = value.strip().upper()
        if not seen_calendar:
            if key != "BEGIN" or word != "VCALENDAR":
                raise IcsError("iCalendar 形式(BEGIN:VCALENDAR で始まるファイル)ではありません。")
            seen_calendar = True
            stack.append(word)
            continue
        if not stack:
            if key == "BEGIN" and word == "VCALENDAR":  # several calendars in one file
                stack.append(word)
                continue
            raise IcsError("END:VCALENDAR の後に余分な内容があります。")
        if key == "BEGIN":
            stack.append(word)
            if len(stack) > 8:
                raise IcsError("iCalendar の入れ子が深すぎます。")
            if len(stack) == 2:
                if word in ("VEVENT", "VTIMEZONE"):
                    block = [line]
                else:
                    out.ignored[word] = out.ignored.get(word, 0) + 1
                    block = None
                if word == "VEVENT" and len(out.events) >= max_events:
                    raise IcsError(f"予定の件数が上限({max_events:,} 件)を超えています。")
            elif block is not None:
                if stack[1] == "VEVENT" or word not in ("STANDARD", "DAYLIGHT"):
                    skip_depth += 1  # VALARM and the like
                else:
                    block.append(line)
            continue
        if key == "END":
            if not stack or stack[-1] != word:
                raise IcsError("iCalendar の構造が壊れています(BEGIN と END が対応しません)。")
            stack.pop()
            if len(stack) == 1 and block is not None:
                block.append(line)
                if word == "VEVENT":
                    out.events.append("\r\n".join(block) + "\r\n")
                else:
                    tzid = _tzid_of(block)
                    if tzid:
                        out.timezones[tzid] = "\r\n".join(block) + "\r\n"
                block = None
            elif block is not None:
                if skip_depth:
                    skip_depth -= 1
                else:
                    block.append(line)
            continue
        if len(stack) == 1 and key == "X-WR-TIMEZONE":
            out.x_wr_timezone = value.strip() or None
        elif block is not None and not skip_depth and key not in _DROP_PROPS:
            block.append(line)
    if not seen_calendar:
        raise IcsError("iCalendar 形式(BEGIN:VCALENDAR で始まるファイル)ではありません。")
    if stack:
        raise IcsError("ファイルが途中で切れています(END:VCALENDAR がありません)。")
    return out


def _tzid_of(block: list[str]) -> str | None:
    for line in block:
        if line.upper().startswith("TZID"):
            return line.partition(":")[2].strip()
    return None


# -- time zones ------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _iana() -> tuple[str, ...]:
    preferred = ("Asia/Tokyo", "UTC")
    rest = sorted(z for z in available_timezones() if z not in preferred and "/" in z)
    return preferred + tuple(rest)


_SAMPLES = tuple(
    datetime(year, month, day, hour, tzinfo=UTC)
    for year in range(1970, 2038, 3)
    for month in (1, 3, 4, 6, 9, 10, 11, 12)
    for day, hour in ((1, 3), (15, 15))
)


def _same_offsets(a: tzinfo, b: tzinfo) -> bool:
    return all(s.astimezone(a).utcoffset() == s.astimezone(b).utcoffset() for s in _SAMPLES)


@lru_cache(maxsize=128)
def _equivalent(vtimezone_text: str) -> str | None:
    """The IANA zone with the same offsets as a custom VTIMEZONE, or None."""
    import icalendar

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        component: Any = icalendar.Timezone.from_ical(vtimezone_text)
        custom = component.to_tz(lookup_tzid=False)
    for name in _iana():
        if _same_offsets(custom, ZoneInfo(name)):
            return name
    return None


class Zones:
    """TZID → IANA name for one file."""

    def __init__(self, scanned: Scan) -> None:
        self.timezones = scanned.timezones
        self.cache: dict[str, str | None] = {}
        self.default = "Asia/Tokyo"
        if scanned.x_wr_timezone:
            self.default = self.resolve(scanned.x_wr_timezone) or "Asia/Tokyo"

    def resolve(self, tzid: str) -> str | None:
        tzid = tzid.strip().strip('"')
        if tzid in self.cache:
            return self.cache[tzid]
        found = self._find(tzid)
        self.cache[tzid] = found
        return found

    def _find(self, tzid: str) -> str | None:
        from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

        candidates = [tzid, WINDOWS_TO_OLSON.get(tzid, "")]
        parts = tzid.strip("/").split("/")
        candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]  # /vendor/Asia/Tokyo
        for name in candidates:
            if name and name.upper() != "LOCAL":
                try:
                    zone(name)
                    return name
                except RuleError:
                    continue
        text = self.timezones.get(tzid)
        if text is not None:
            try:
                return _equivalent(text)
            except Exception:  # a VTIMEZONE icalendar cannot build: unknown zone
                return None
        return None


# -- events ----------------------------------------------------------------------------
@dataclass
class Event:
    """One VEVENT as values (wall-clock in ``tz``)."""

    uid: str
    tz: str
    all_day: bool
    start: Local
    end: Local
    title: str
    location: str
    description: str
    private: bool
    sequence: int
    cancelled: bool
    recurrence_id: Local | None = None
    rrule: str | None = None
    rdates: list[Local] = field(default_factory=list)
    exdates: list[Local] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class EventError(ValueError):
    """This event is skipped; the message (Japanese) goes into the report."""


def parse_event(text: str, zones: Zones, x_wr: str | None) -> Event:
    """One VEVENT text as an ``Event``; ``EventError`` when it cannot be taken.

    The event is read by ``_plain_component`` when it is in the plain form exports use
    (its lines ``NAME;PARAM=VALUE:value``, the values of the properties an entry keeps in
    their RFC 5545 forms), else by ``icalendar``; both give the same ``Event``
    (``tests/schedules/test_ical_parse.py`` compares them)."""
    component = _plain_component(text, zones, x_wr)
    if component is None:
        component = _icalendar_component(text, zones, x_wr)
    return _event(component, text, zones)


def _icalendar_component(text: str, zones: Zones, x_wr: str | None) -> Any:
    """The VEVENT as icalendar reads it (UTC and floating times moved into X-WR-TIMEZONE by
    ``x_wr_timezone`` when the file has one)."""
    import icalendar
    import x_wr_timezone

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            component = icalendar.Event.from_ical(text)
            if x_wr:
                wrapper = icalendar.Calendar()
                wrapper.add("X-WR-TIMEZONE", zones.default)
                wrapper.add_component(component)
                component = x_wr_timezone.to_standard(wrapper).subcomponents[0]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise EventError("VEVENT を読み取れません。") from exc
    return component


def _event(component: Any, text: str, zones: Zones) -> Event:
    if "DTSTART" not in component:
        raise EventError("開始日時(DTSTART)がありません。")
    start_prop = component["DTSTART"]
    start_value, tz = _value(start_prop, zones, None)
    all_day = not isinstance(start_value, datetime)
    if all_day:
        tz = zones.default
    end_value = _end(component, start_value, zones, tz)
    uid = str(component.get("UID") or "").strip() or _synthetic_uid(text)
    rrules = component.get("RRULE")
    if isinstance(rrules, list):
        if len(rrules) > 1:
            raise EventError("複数の RRULE を持つ予定には対応していません。")
        rrules = rrules[0]
    rrule = rrules.to_ical().decode() if rrules is not None else None
    event = Event(
        uid=uid[:255],
        tz=tz,
        all_day=all_day,
        start=start_value,
        end=end_value,
        title=_text(component.get("SUMMARY"), 200) or "(件名なし)",
        location=_text(component.get("LOCATION"), 200),
        description=_text(component.get("DESCRIPTION"), 5000),
        private=str(component.get("CLASS") or "").upper() in ("PRIVATE", "CONFIDENTIAL"),
        sequence=_int(component.get("SEQUENCE")),
        cancelled=str(component.get("STATUS") or "").upper() == "CANCELLED",
        rrule=rrule,
    )
    if "RECURRENCE-ID" in component:
        event.recurrence_id, _ = _value(component["RECURRENCE-ID"], zones, tz)
    for name, target in (("RDATE", event.rdates), ("EXDATE", event.exdates)):
        for item in _values(component.get(name)):
            for value in item.dts:
                target.append(_converted(value.dt, value.params, zones, tz, all_day))
    if "EXRULE" in component:
        event.warnings.append("EXRULE は廃止された指定のため無視しました。")
    return event


# -- the plain form ---------------------------------------------------------------------
# icalendar builds a typed object tree for every line of an event (parameters, value
# classes, a case-insensitive dict per component): about 0.3 ms an event, most of an
# import's time. Exports are nearly always in one plain form, which is read here with
# string operations into the few values an entry keeps, shaped as icalendar gives them
# (``_Prop``: ``.dt`` and ``.params``), so ``_event`` treats both alike. Anything outside
# the form (a quoted or escaped parameter, a PERIOD, a repeated property, a zone name that
# is neither IANA nor Windows, a value that does not parse) sends the event to icalendar.

_KEPT = frozenset(
    {
        "UID",
        "DTSTART",
        "DTEND",
        "DURATION",
        "RRULE",
        "RECURRENCE-ID",
        "SUMMARY",
        "LOCATION",
        "DESCRIPTION",
        "CLASS",
        "SEQUENCE",
        "STATUS",
        "EXRULE",
    }
)
_LISTED = frozenset({"EXDATE", "RDATE"})
_MOMENTS = frozenset({"DTSTART", "DTEND", "RECURRENCE-ID"})
_TEXTS = frozenset({"UID", "SUMMARY", "LOCATION", "DESCRIPTION", "CLASS", "STATUS"})
_NAME_RE = re.compile(r"[A-Za-z0-9-]+")
_MOMENT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?")
_ESCAPED_RE = re.compile(r"\\([\\,;:nN])")  # icalendar's unescape_backslash


@dataclass(frozen=True)
class _Prop:
    """A date or date-time value as icalendar gives it: the value and its parameters."""

    dt: Any
    params: dict[str, str]


@dataclass(frozen=True)
class _Listed:
    """An EXDATE or RDATE line as icalendar gives it (``.dts``)."""

    dts: list[_Prop]


def _unescaped(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPED_RE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _attached(tzid: str) -> str | None:
    """The zone icalendar attaches for ``tzid`` when it is an IANA or a Windows name."""
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    try:
        zone(tzid)
        return tzid
    except RuleError:
        found = WINDOWS_TO_OLSON.get(tzid)
        return str(found) if found else None


def _moment(params: dict[str, str], raw: str, zones: Zones, x_wr: str | None) -> _Prop | None:
    """A DATE or DATE-TIME value as icalendar (and ``x_wr_timezone``) would give it; None
    when it is outside the plain form."""
    match = _MOMENT_RE.fullmatch(raw.strip())
    if match is None:
        return None
    kind = params.get("VALUE", "").upper()
    year, month, day, hour, minute, second, utc = match.groups()
    try:
        if hour is None:
            if kind not in ("", "DATE"):
                return None
            return _Prop(date(int(year), int(month), int(day)), params)
        if kind not in ("", "DATE-TIME"):
            return None
        wall = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    tzid = params.get("TZID")
    default = zones.default
    if utc:
        if tzid:
            return None
        aware = wall.replace(tzinfo=ZoneInfo("UTC"))
        if x_wr:  # x_wr_timezone moves UTC times into the calendar's zone
            return _Prop(aware.astimezone(ZoneInfo(default)), {"TZID": default})
        return _Prop(aware, {})
    if tzid:
        name = _attached(tzid)
        if name is None:
            return None
        attached = ZoneInfo(name)
        if x_wr and attached.tzname(wall) == "UTC":
            moved = wall.replace(tzinfo=attached).astimezone(ZoneInfo(default))
            return _Prop(moved, {"TZID": default})
        return _Prop(wall.replace(tzinfo=attached), params)
    return _Prop(wall, params)  # floating: the file's zone (``Zones.default``), as icalendar's


def _plain_component(text: str, zones: Zones, x_wr: str | None) -> dict[str, Any] | None:
    """The values ``_event`` reads, when the event is in the plain form; None otherwise."""
    from icalendar.prop import vDuration, vRecur

    found: dict[str, Any] = {}
    for line in text.split("\r\n"):
        if not line:
            continue
        colon = line.find(":")
        if colon <= 0:
            return None
        head = line[:colon]
        if '"' in head or "\\" in head:
            return None
        name, _, rest = head.partition(";")
        if _NAME_RE.fullmatch(name) is None:
            return None
        name = name.upper()
        listed = name in _LISTED
        if not listed and name not in _KEPT:
            continue  # BEGIN/END:VEVENT and properties an entry does not keep
        if not listed and name in found:
            return None  # a repeated property: icalendar's list, and its errors
        params: dict[str, str] = {}
        for part in rest.split(";") if rest else ():
            key, equals, value = part.partition("=")
            if not equals or "," in value:
                return None
            params[key.strip().upper()] = value.strip()
        value = line[colon + 1 :]
        if name in _MOMENTS:
            moment = _moment(params, value, zones, x_wr)
            if moment is None:
                return None
            found[name] = moment
        elif listed:
            dts = [_moment(params, v, zones, x_wr) for v in value.split(",")]
            if any(d is None for d in dts):
                return None
            found.setdefault(name, []).append(_Listed([d for d in dts if d is not None]))
        elif name in _TEXTS:
            found[name] = _unescaped(value)
        elif name == "SEQUENCE":
            found[name] = value
        elif name == "DURATION":
            try:
                length = vDuration.from_ical(value.strip())  # type: ignore[no-untyped-call]
                found[name] = _Prop(length, params)
            except ValueError:
                return None
        elif name == "RRULE":
            try:
                found[name] = vRecur.from_ical(value)
            except (ValueError, TypeError, KeyError):
                return None
        else:  # EXRULE: only noted
            found[name] = value
    return found if "DTSTART" in found else None


def _values(prop: Any) -> list[Any]:
    if prop is None:
        return []
    return prop if isinstance(prop, list) else [prop]


def _value(prop: Any, zones: Zones, series_tz: str | None) -> tuple[Local, str]:
    """A DTSTART-like property as wall-clock value and its zone (``series_tz`` given: the
    value converted into that zone)."""
    value = prop.dt
    if isinstance(value, tuple):
        value = value[0]
    if not isinstance(value, datetime):
        if not isinstance(value, date):
            raise EventError("日付の値が正しくありません。")
        return value, series_tz or zones.default
    tz = _zone_of(value, prop.params, zones)
    wall = value.replace(tzinfo=None)
    if series_tz is not None and series_tz != tz:
        moved = wall.replace(tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo(series_tz))
        return moved.replace(tzinfo=None), series_tz
    return wall, tz


def _converted(value: Any, params: Any, zones: Zones, tz: str, all_day: bool) -> Local:
    if isinstance(value, tuple):  # a PERIOD: its start
        value = value[0]
    if all_day:
        return value.date() if isinstance(value, datetime) else value
    if not isinstance(value, datetime):
        day: date = value
        return day  # a date EXDATE of a timed series: that whole day
    source = _zone_of(value, params, zones)
    if source == tz:
        return value.replace(tzinfo=None)
    moved = value.replace(tzinfo=ZoneInfo(source)).astimezone(ZoneInfo(tz))
    return moved.replace(tzinfo=None)


def _zone_of(value: datetime, params: Any, zones: Zones) -> str:
    tzid = params.get("TZID") if params is not None else None
    if tzid:
        found = zones.resolve(str(tzid))
        if found is None:
            raise EventError(f"タイムゾーン「{str(tzid)[:60]}」が不明です。")
        return found
    if value.tzinfo is None:
        return zones.default
    key = getattr(value.tzinfo, "key", None)
    if key:
        return str(key)
    if value.utcoffset() == timedelta(0):
        return "UTC"
    raise EventError("タイムゾーンを特定できません。")


def _end(component: Any, start: Local, zones: Zones, tz: str) -> Local:
    if "DTEND" in component:
        end, _ = _value(component["DTEND"], zones, tz)
        if isinstance(end, datetime) != isinstance(start, datetime):
            raise EventError("開始と終了の形式(日付/日時)が一致しません。")
        if end < start:
            raise EventError("終了が開始より前です。")
        return end
    if "DURATION" in component:
        duration = component["DURATION"].dt
        if not isinstance(duration, timedelta) or duration < timedelta(0):
            raise EventError("DURATION が正しくありません。")
        if not isinstance(start, datetime) and duration.seconds:
            raise EventError("終日の予定の DURATION は日単位で指定してください。")
        return start + duration
    if isinstance(start, datetime):
        return start
    return start + timedelta(days=1)


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value).replace("\x00", "").strip()[:limit]


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _synthetic_uid(text: str) -> str:
    """A stable UID for an event without one (the same file imported again finds it)."""
    kept = "\n".join(
        line for line in text.splitlines() if not line.upper().startswith(("DTSTAMP", "UID"))
    )
    return "kura-" + hashlib.sha256(kept.encode()).hexdigest()[:32]


def digest(values: dict[str, Any]) -> str:
    """A digest of an event's stored values (an unchanged re-import is "変更なし")."""
    import json

    return hashlib.sha256(
        json.dumps(values, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def local_text(value: Local) -> str:
    return format_local(value)
