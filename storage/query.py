"""A tiny, backend-neutral query spec for the record store.

The record store answers simple questions only (style habit 3): equality, membership, ranges,
existence, a sort and keyset pages. Relevance, facets and full text belong to the search index.

Field names are dotted paths into the record (``location.municipality_code``). Values are JSON
scalars; datetimes and dates are stored as fixed-width ISO-8601 strings (see ``api.kit.clock``),
so ranges on them compare correctly as strings on every backend.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from storage.errors import InvalidQuery

Scalar = str | int | float | bool | None
Record = dict[str, Any]

_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def check_field(name: str) -> str:
    """Reject anything but a plain dotted path, so adapters may splice names into queries."""
    if not _FIELD_RE.match(name):
        raise InvalidQuery(f"invalid field name: {name!r}")
    return name


@dataclass(frozen=True)
class Eq:
    field: str
    value: Scalar


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Range:
    field: str
    gte: Scalar = None
    gt: Scalar = None
    lte: Scalar = None
    lt: Scalar = None


@dataclass(frozen=True)
class Exists:
    field: str
    exists: bool = True


Condition = Eq | In | Range | Exists
Direction = Literal[1, -1]


_STAMPS = ("id", "version")


@dataclass(frozen=True)
class Query:
    """Conditions are ANDed. ``sort`` always ends with ``id`` ascending as the tie-breaker.

    Sort fields should be present on every record of the collection: keyset paging treats a
    missing value as null, which both backends order first.
    """

    where: tuple[Condition, ...] = ()
    sort: tuple[tuple[str, Direction], ...] = ()
    limit: int = 50
    cursor: str | None = None
    # Only these top-level fields, besides ``id``, ``version`` and the sort fields (a keyset
    # cursor is made of them); empty: whole records. A field missing or null comes back
    # missing. Reads that need a few small fields of large records skip decoding the rest.
    fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for cond in self.where:
            check_field(cond.field)
        for name in self.fields:
            if "." in check_field(name):
                raise InvalidQuery(f"fields are top-level names: {name!r}")
        for name, direction in self.sort:
            check_field(name)
            if direction not in (1, -1):
                raise InvalidQuery(f"invalid sort direction for {name}: {direction!r}")
        if not 1 <= self.limit <= 1000:
            raise InvalidQuery("limit must be between 1 and 1000")

    @property
    def full_sort(self) -> tuple[tuple[str, Direction], ...]:
        if any(name == "id" for name, _ in self.sort):
            return self.sort
        return (*self.sort, ("id", 1))

    @property
    def projection(self) -> tuple[str, ...]:
        """The top-level fields a projected read returns besides ``id`` and ``version``
        (``fields`` and the sort fields' roots); empty for whole records."""
        if not self.fields:
            return ()
        roots = (name.split(".", 1)[0] for name, _ in self.sort)
        return tuple(n for n in dict.fromkeys((*self.fields, *roots)) if n not in _STAMPS)


@dataclass
class Page:
    items: list[Record] = field(default_factory=list)
    next_cursor: str | None = None


def get_path(record: Record, dotted: str) -> Any:
    """The value at a dotted path, or None when any step is missing."""
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def encode_cursor(record: Record, sort: tuple[tuple[str, Direction], ...]) -> str:
    """An opaque cursor holding the last item's sort values (keyset paging)."""
    values = [get_path(record, name) for name, _ in sort]
    raw = json.dumps(
        [[name for name, _ in sort], values], ensure_ascii=False, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: tuple[tuple[str, Direction], ...]) -> list[Scalar]:
    """The sort values inside a cursor; a cursor made for another sort is refused."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        names, values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, TypeError) as exc:
        raise InvalidQuery("malformed cursor") from exc
    if names != [name for name, _ in sort] or not isinstance(values, list):
        raise InvalidQuery("cursor does not match the sort order")
    if len(values) != len(sort):
        raise InvalidQuery("malformed cursor")
    return values


def matches(record: Record, cond: Condition) -> bool:
    """Reference semantics of one condition, used by fakes and by the contract tests."""
    value = get_path(record, cond.field)
    if isinstance(cond, Eq):
        if isinstance(value, list):
            return cond.value in value
        return bool(value == cond.value)
    if isinstance(cond, In):
        if isinstance(value, list):
            return any(v in cond.values for v in value)
        return value in cond.values
    if isinstance(cond, Exists):
        return (value is not None) == cond.exists
    if value is None:
        return False
    if cond.gte is not None and not value >= cond.gte:
        return False
    if cond.gt is not None and not value > cond.gt:
        return False
    if cond.lte is not None and not value <= cond.lte:
        return False
    return not (cond.lt is not None and not value < cond.lt)
