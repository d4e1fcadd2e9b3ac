"""Date values of index documents as integers, so every backend ranges and sorts them alike.

Index documents carry fixed-width ISO timestamps (``api.kit.clock.to_iso``) or bare
``YYYY-MM-DD`` dates. Backends store them as microseconds since the Unix epoch (UTC): tantivy
as an i64 fast field, Elasticsearch as a ``long``, so both compare exactly the same values.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from storage.errors import InvalidQuery

_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000


def is_bare_date(value: str) -> bool:
    return bool(_BARE_DATE.match(value))


def to_micros(value: str) -> int:
    """Microseconds since the epoch of an ISO date or timestamp; a naive one is taken as UTC.

    Raises ``InvalidQuery`` on anything else.
    """
    try:
        if is_bare_date(value):
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
    except (TypeError, ValueError) as exc:
        raise InvalidQuery(f"not an ISO date: {value!r}") from exc
    delta: timedelta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def range_bounds(gte: str | None, lte: str | None) -> tuple[int | None, int | None]:
    """Inclusive ``[low, high]`` microsecond bounds of a date range.

    A bare date as the upper bound means through the end of that day (its last microsecond).
    """
    low = to_micros(gte) if gte else None
    high: int | None = None
    if lte:
        high = to_micros(lte)
        if is_bare_date(lte):
            high += _DAY_US - 1
    return low, high
