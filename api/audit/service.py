"""The audit trail: an append-only, hash-chained event log (issue 2 item 8).

Every change appends an event: actor, time, action ``"domain.past_tense"``, target, and a
SHA-256 digest of the before/after states. Each event stores the hash of the previous one,
so ``verify`` detects any edited, removed or reordered event and names it. Nothing deletes it.

The hash is an HMAC-SHA256 under the deployment's audit key, kept in a key file outside the
data folder and the database (``api.audit.keys``); the event names its key (``key_id``). Who
can only write the database cannot re-chain an edit. Events written before keyed hashing
(no ``key_id``, plain SHA-256) are accepted up to the boundary the key file recorded when it
was created. Signed checkpoints in the blob store pin the head (``api.audit.checkpoints``),
so events cut from the end are found as well (issue 7 item 6).

Call ``record`` inside the same unit of work as the change it describes, so the event
commits with the change or not at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from api.audit import checkpoints, scope
from api.audit.keys import AuditKeys, KeyFile, bound_key_file
from api.kit.clock import Clock, to_iso
from api.permissions.policy import Subject
from storage.errors import DuplicateKey, StaleVersion
from storage.ports import BlobStore, IndexSpec, RecordStore
from storage.query import Condition, Eq, Page, Query, Range

COLLECTION = "audit_events"
# One record anchoring the newest event (seq and hash), written in the same unit of work as
# the event, so removing events from the end of the chain is detected too.
HEAD_COLLECTION = "audit_head"
HEAD_ID = "head"
GENESIS = "0" * 64
_RETRIES = 20


def digest(state: Any) -> str | None:
    """A stable SHA-256 of a record state (sorted keys), or None when there is no state."""
    if state is None:
        return None
    raw = json.dumps(state, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _body(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("hash", "version")}


def event_hash(event: dict[str, Any]) -> str:
    """The plain SHA-256 of an event over every field except its own hash and storage
    bookkeeping: the hash of legacy events, written before keyed hashing."""
    raw = json.dumps(_body(event), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def keyed_hash(keys: AuditKeys, event: dict[str, Any]) -> str | None:
    """The HMAC-SHA256 of an event under the key it names (None: unknown key)."""
    return keys.mac(str(event["key_id"]), "event", _body(event))


def seq_id(seq: int) -> str:
    return f"{seq:016d}"


@dataclass(frozen=True)
class Problem:
    seq: int
    event_id: str
    reason: str


@dataclass
class Verification:
    """What ``AuditLog.check`` found: the problems and what it walked."""

    problems: list[Problem]
    events: int = 0
    checkpoints: int = 0
    newest_checkpoint: int = 0  # seq of the newest valid checkpoint, 0 if none


class AuditChainError(Exception):
    """The chain's head is not sound, so no checkpoint is written for it."""


class AuditLog:
    def __init__(self, records: RecordStore, clock: Clock, keys: KeyFile | None = None) -> None:
        self.records = records
        self.clock = clock
        # The Container binds its key file to its record store; a caller may pass another.
        self.key_file = keys if keys is not None else bound_key_file(records)

    async def keys(self) -> AuditKeys:
        """The audit key file's keys (created on the first start; ``AuditKeyError`` when it
        is exposed, unreadable or malformed)."""
        if self.key_file is None:
            raise RuntimeError("no audit key file is bound to this record store (api.container)")
        return await self.key_file.load(lambda: self._head(exact=True))

    async def ensure_indexes(self) -> None:
        await self.records.ensure_indexes(
            COLLECTION,
            [
                IndexSpec((("seq", 1),), unique=True),
                IndexSpec((("action", 1), ("seq", 1))),
                IndexSpec((("actor_id", 1), ("seq", 1))),
                IndexSpec((("target", 1), ("seq", 1))),
                IndexSpec(((scope.FIELD, 1), ("seq", 1))),
            ],
        )

    async def _head(self, exact: bool = False) -> tuple[int, str]:
        # The anchor record is read by id (O(1)); the newest-event query sorts by (seq, id),
        # which the SQLite adapter answers with a scan of the whole log. It is the fallback
        # when there is no anchor yet or an append collided (a lagging anchor).
        if not exact:
            head = await self.records.get(HEAD_COLLECTION, HEAD_ID)
            if head is not None:
                return int(head["seq"]), str(head["hash"])
        page = await self.records.find(COLLECTION, Query(sort=(("seq", -1),), limit=1))
        if not page.items:
            return 0, GENESIS
        last = page.items[0]
        return int(last["seq"]), str(last["hash"])

    async def record(
        self,
        actor: Subject | str | None,
        action: str,
        target: str,
        *,
        before: Any = None,
        after: Any = None,
        detail: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append one event. ``actor`` is the subject, a system name (``"system:cli"``), or
        None for anonymous (failed logins). ``target`` is ``"<collection>/<id>"``."""
        if isinstance(actor, Subject):
            actor_id, actor_login = actor.user_id, actor.login_id
        else:
            actor_id, actor_login = (actor or "anonymous"), None
        keys = await self.keys()
        # issue 7 item 1: the organizations the event concerns (audit reads are scoped by it)
        org_ids = await scope.event_org_ids(self.records, actor, target, before, after, detail)
        for attempt in range(_RETRIES):
            seq, prev = await self._head(exact=attempt > 0)
            event: dict[str, Any] = {
                "id": seq_id(seq + 1),
                "seq": seq + 1,
                "at": to_iso(self.clock.now()),
                "actor_id": actor_id,
                "actor_login": actor_login,
                "action": action,
                "target": target,
                "before_digest": digest(before),
                "after_digest": digest(after),
                "detail": detail or {},
                "prev_hash": prev,
                "key_id": keys.signing_id,
                scope.FIELD: org_ids,
            }
            event["hash"] = keys.sign("event", _body(event))
            try:
                stored = await self.records.insert(COLLECTION, event)
            except DuplicateKey:
                continue  # another writer took this sequence number; chain onto theirs
            await self._advance_head(int(event["seq"]), str(event["hash"]))
            return stored
        raise RuntimeError("audit append kept colliding")

    async def _advance_head(self, seq: int, hash_: str) -> None:
        for _ in range(_RETRIES):
            head = await self.records.get(HEAD_COLLECTION, HEAD_ID)
            try:
                if head is None:
                    await self.records.insert(
                        HEAD_COLLECTION, {"id": HEAD_ID, "seq": seq, "hash": hash_}
                    )
                elif int(head["seq"]) < seq:
                    await self.records.update(
                        HEAD_COLLECTION, HEAD_ID, {"seq": seq, "hash": hash_}, head["version"]
                    )
                return
            except (DuplicateKey, StaleVersion):
                continue
        raise RuntimeError("audit head kept colliding")

    async def verify(
        self, blobs: BlobStore | None = None, extra: Sequence[tuple[str, bytes]] = ()
    ) -> list[Problem]:
        """Walk the chain in order; name every event that was edited, removed or reordered."""
        return (await self.check(blobs, extra)).problems

    async def check(
        self, blobs: BlobStore | None = None, extra: Sequence[tuple[str, bytes]] = ()
    ) -> Verification:
        """``verify`` with counts. Checks every event's hash (keyed, or legacy up to the key
        file's boundary) and link, the head record, the checkpoints stored in ``blobs`` and
        the ``extra`` checkpoint files (name, bytes)."""
        keys = await self.keys()
        result = Verification(problems=[])
        problems = result.problems
        anchors = await self._anchors(keys, blobs, extra, result)
        expected_seq = 1
        prev = GENESIS
        async for event in self.records.scan(COLLECTION):
            result.events += 1
            seq = int(event.get("seq", -1))
            eid = str(event["id"])
            if seq != expected_seq:
                reason = "missing" if seq > expected_seq else "reordered"
                problems.append(
                    Problem(expected_seq, eid, f"{reason}: expected seq {expected_seq}")
                )
            if event.get("prev_hash") != prev:
                problems.append(Problem(seq, eid, "chain broken: prev_hash does not match"))
            problems += _content_problems(keys, event, seq, eid)
            for hash_, source in anchors.get(seq, ()):
                if event.get("hash") != hash_:
                    problems.append(Problem(seq, eid, f"edited: differs from checkpoint {source}"))
            prev = str(event.get("hash"))
            expected_seq = seq + 1
        last_seq = expected_seq - 1
        problems += await self._head_problems(last_seq, prev)
        pinned = [(keys.legacy_until, str(keys.path))] if keys.legacy_until else []
        pinned += [(s, src) for s, found in anchors.items() for _, src in found]
        for seq, source in sorted(pinned, reverse=True):  # name the farthest pin
            if seq > last_seq:
                problems.append(
                    Problem(
                        last_seq + 1,
                        seq_id(last_seq + 1),
                        f"missing: events {last_seq + 1}..{seq} removed (pinned by {source})",
                    )
                )
                break
        return result

    async def _anchors(
        self,
        keys: AuditKeys,
        blobs: BlobStore | None,
        extra: Sequence[tuple[str, bytes]],
        result: Verification,
    ) -> dict[int, list[tuple[str, str]]]:
        """The hash each checkpoint pins, by seq (with its source); bad ones are problems."""
        sources: list[tuple[str, bytes]] = list(extra)
        if blobs is not None:
            sources += [item async for item in checkpoints.stored(blobs)]
        anchors: dict[int, list[tuple[str, str]]] = {}
        for source, raw in sources:
            result.checkpoints += 1
            try:
                cp = checkpoints.parse(raw)
            except ValueError as exc:
                result.problems.append(Problem(0, source, f"checkpoint unreadable: {exc}"))
                continue
            bad = checkpoints.signature_problem(keys, cp)
            if bad is not None:
                result.problems.append(
                    Problem(cp.seq, seq_id(cp.seq), f"checkpoint {source} {bad}")
                )
                continue
            anchors.setdefault(cp.seq, []).append((cp.hash, source))
            result.newest_checkpoint = max(result.newest_checkpoint, cp.seq)
        return anchors

    async def _head_problems(self, last_seq: int, last_hash: str) -> list[Problem]:
        head = await self.records.get(HEAD_COLLECTION, HEAD_ID)
        if head is None:
            if last_seq > 0:
                return [Problem(last_seq, seq_id(last_seq), "head record missing")]
        elif int(head["seq"]) > last_seq:
            return [
                Problem(
                    last_seq + 1,
                    seq_id(last_seq + 1),
                    f"missing: events {last_seq + 1}..{head['seq']} removed from the end",
                )
            ]
        elif int(head["seq"]) == last_seq and head.get("hash") != last_hash:
            return [Problem(last_seq, seq_id(last_seq), "edited: differs from head")]
        return []

    async def checkpoint(self, blobs: BlobStore) -> tuple[checkpoints.Checkpoint | None, bool]:
        """Pin the chain's head in the blob store: a checkpoint signed with the audit key.
        Returns it and whether it was written (False: the newest checkpoint already pins
        this head; None when the log is empty). ``AuditChainError`` when the head event is
        missing or does not verify, so a tampered head is never certified."""
        keys = await self.keys()
        seq, hash_ = await self._head()
        if seq == 0:
            return None, False
        event = await self.records.get(COLLECTION, seq_id(seq))
        if (
            event is None
            or event.get("hash") != hash_
            or _content_problems(keys, event, seq, seq_id(seq))
        ):
            raise AuditChainError(
                f"event {seq} does not match the head or its key: run `kura audit verify`"
            )
        newest = await checkpoints.newest_key(blobs)
        if newest == checkpoints.object_key(seq):
            existing = checkpoints.parse(await checkpoints.read(blobs, newest))
            if existing.hash == hash_ and checkpoints.signature_problem(keys, existing) is None:
                return existing, False
        cp = checkpoints.seal(keys, seq, hash_, to_iso(self.clock.now()))
        await checkpoints.write(blobs, cp)
        return cp, True


def _content_problems(keys: AuditKeys, event: dict[str, Any], seq: int, eid: str) -> list[Problem]:
    """An event's own hash against its content: keyed under the key it names, or plain
    SHA-256 for the legacy events the key file allows."""
    problems: list[Problem] = []
    key_id = event.get("key_id")
    if key_id is None:
        if seq > keys.legacy_until:
            problems.append(
                Problem(seq, eid, f"unkeyed: only events up to {keys.legacy_until} may lack a key")
            )
        expected: str | None = event_hash(event)
    else:
        expected = keyed_hash(keys, event)
        if expected is None:
            problems.append(Problem(seq, eid, f"unknown key id {key_id} (not in {keys.path})"))
    if expected is not None and expected != event.get("hash"):
        problems.append(Problem(seq, eid, "edited: hash does not match content"))
    if seq == keys.legacy_until and event.get("hash") != keys.legacy_hash:
        problems.append(Problem(seq, eid, f"edited: differs from the hash pinned in {keys.path}"))
    return problems


# Columns of the CSV export, in order (JSON lines carry the same fields).
EXPORT_FIELDS: tuple[str, ...] = (
    "seq",
    "id",
    "at",
    "actor_id",
    "actor_login",
    "action",
    "target",
    "before_digest",
    "after_digest",
    "detail",
    "prev_hash",
    "key_id",
    "hash",
    scope.FIELD,
)


@dataclass(frozen=True)
class EventFilter:
    """Which events to list or export; every given field must match (times are inclusive
    ``since`` and exclusive ``until``, fixed-width ISO strings)."""

    action: str | None = None
    actor_id: str | None = None
    target: str | None = None
    since: str | None = None
    until: str | None = None
    # Only events concerning this organization (issue 7 item 1); None: all (operators).
    org_id: str | None = None

    def conditions(self) -> list[Condition]:
        where: list[Condition] = []
        if self.org_id is not None:
            where.append(Eq(scope.FIELD, self.org_id))
        for name in ("action", "actor_id", "target"):
            value = getattr(self, name)
            if value is not None:
                where.append(Eq(name, value))
        if self.since or self.until:
            where.append(Range("at", gte=self.since, lt=self.until))
        return where


async def list_events(
    records: RecordStore, flt: EventFilter, limit: int = 50, cursor: str | None = None
) -> Page:
    """One page of events, newest first (keyset on ``seq``)."""
    query = Query(where=tuple(flt.conditions()), sort=(("seq", -1),), limit=limit, cursor=cursor)
    return await records.find(COLLECTION, query)


async def iter_events(
    records: RecordStore, flt: EventFilter, batch: int = 1000
) -> AsyncIterator[dict[str, Any]]:
    """Every matching event in chain order (ids are the zero-padded seq), streamed."""
    async for event in records.scan(COLLECTION, flt.conditions(), batch=batch):
        yield event


def _csv_line(values: Sequence[Any]) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(values)
    return buf.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "" if value is None else value


async def export_lines(events: AsyncIterator[dict[str, Any]], fmt: str) -> AsyncIterator[str]:
    """Render events as CSV (header first, RFC 4180, CRLF) or JSON lines, one at a time."""
    if fmt == "csv":
        yield _csv_line(EXPORT_FIELDS)
        async for event in events:
            yield _csv_line([_cell(event.get(name)) for name in EXPORT_FIELDS])
    elif fmt == "jsonl":
        async for event in events:
            # fields an event lacks (org_ids before issue 7) stay absent, as hashed
            body = {name: event.get(name) for name in EXPORT_FIELDS if name in event}
            yield json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n"
    else:
        raise ValueError(f"unknown export format: {fmt}")
