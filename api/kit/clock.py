"""Time: one injectable clock, and the fixed-width ISO format every stored timestamp uses.

Timestamps are stored as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, always 27 characters) so that
string comparison equals time comparison on every record backend.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Protocol

from pydantic import BeforeValidator, PlainSerializer

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# What people read: Japan Standard Time (no summer time), in exports, printed forms and file
# names (issue 8 §3 item 5); stored timestamps stay UTC.
JST = timezone(timedelta(hours=9), "JST")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A settable clock for tests."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**kwargs)


class FileClock:
    """A clock read from a file holding an ISO time (tests only: the browser tests move the
    time of a running ``kura serve`` across a bond's opening time). Without the file, or
    with an unreadable one, it is the system clock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        try:
            text = self.path.read_text().strip()
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        except (OSError, ValueError):
            return datetime.now(UTC)


def to_iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).strftime(ISO_FORMAT)


def from_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def jst_text(value: str | datetime | None, *, seconds: bool = False) -> str:
    """A stored timestamp as people read it in Japan: ``2026/06/01 09:05`` (JST); a bare date
    stays a date (``2026/06/01``); "" for nothing or what is not a time."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        if len(value) == 10:
            return value.replace("-", "/")
        try:
            when = from_iso(value)
        except ValueError:
            return value
    else:
        when = value
    local = when.astimezone(JST)
    return local.strftime("%Y/%m/%d %H:%M:%S" if seconds else "%Y/%m/%d %H:%M")


def jst_stamp(value: datetime) -> str:
    """``20260601-0905``: a JST time for file names."""
    return value.astimezone(JST).strftime("%Y%m%d-%H%M")


def _parse(value: object) -> object:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError("日時の形式が正しくありません。") from exc
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("タイムゾーン付きの日時を指定してください。")
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


UtcDateTime = Annotated[
    datetime,
    BeforeValidator(_parse),
    PlainSerializer(to_iso, return_type=str, when_used="json"),
]
"""A tz-aware datetime that serialises to the fixed-width stored format."""

IsoDate = Annotated[
    date, PlainSerializer(lambda d: d.isoformat(), return_type=str, when_used="json")
]
