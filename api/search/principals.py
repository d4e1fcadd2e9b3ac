"""Access principals that modules add to the search's acl filter.

Works and files are filtered on the organization-wide principals plus the works the subject is
a member of now (``api.works.access``; membership opens only works and files,
``SearchQuery.member_types``). A module whose documents carry principals of their own (the
board's posts: ``member:<work>``, ...) registers a provider of the principals a subject holds,
read from the records at query time, and names its document types *private*: those are never
shown to a subject searched without an acl filter (operators), since that filter is what keeps
them to their readers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from api.permissions.policy import Subject
from api.works.indexing import principals_for
from indexer.query import SearchQuery
from storage.ports import RecordStore

Provider = Callable[[RecordStore, Subject], Awaitable[Sequence[str]]]
_PROVIDERS: list[Provider] = []
PUBLIC_TYPES: tuple[str, ...] = ("work", "file")
_PRIVATE_TYPES: set[str] = set()


def register_principals(provider: Provider, *, private_types: Sequence[str] = ()) -> None:
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)
    _PRIVATE_TYPES.update(private_types)


async def principals(
    records: RecordStore, subject: Subject, base: tuple[str, ...] | None = None
) -> tuple[str, ...] | None:
    """Every principal ``subject`` holds: ``base`` (default ``principals_for``) plus the
    modules' (None: no filter, operators)."""
    if base is None:
        base = principals_for(subject)
    if base is None:
        return None
    extra: list[str] = []
    for provider in _PROVIDERS:
        extra.extend(await provider(records, subject))
    return (*base, *extra)


async def scoped(records: RecordStore, subject: Subject, query: SearchQuery) -> SearchQuery:
    """``query`` with the subject's full acl; without an acl filter, private types removed."""
    acl = await principals(records, subject, query.acl) if query.acl is not None else None
    if acl is not None:
        return replace(query, acl=acl)
    if not query.types:
        return replace(query, acl=None, types=PUBLIC_TYPES)
    kept = tuple(t for t in query.types if t not in _PRIVATE_TYPES)
    # An empty filter value matches nothing (``indexer.backends.matches_nothing``).
    return replace(
        query,
        acl=None,
        types=kept,
        filters={**query.filters, "type": ()} if not kept else query.filters,
    )
