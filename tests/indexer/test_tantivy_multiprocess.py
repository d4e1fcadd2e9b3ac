"""The embedded tantivy index shared by several processes (API, Celery worker, CLI).

tantivy allows one writer per index folder, enforced by a lock file that two instances in one
process contend for exactly as two processes do; so most cases use two ``TantivyIndex``
instances here, and the last ones run a real second Python process.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from indexer.backends import embedded
from indexer.backends.embedded import TantivyIndex
from indexer.query import SearchQuery
from storage.errors import BackendUnavailable

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


def doc(doc_id: str, title: str = "工事写真") -> dict[str, Any]:
    return {"id": doc_id, "type": "file", "title": title, "stamp": 1}


async def seen(index: TantivyIndex, text: str = "") -> set[str]:
    result = await index.search(SearchQuery(text=text, acl=None, limit=100))
    return {h.id for h in result.hits}


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[TantivyIndex, TantivyIndex]]:
    a = TantivyIndex(tmp_path / "ix", lock_timeout_s=0.3)
    b = TantivyIndex(tmp_path / "ix", lock_timeout_s=0.3)
    await a.open()
    await b.open()  # used to fail: open() held the writer for the life of the instance
    yield a, b
    await a.close()
    await b.close()


async def test_writes_take_turns_and_each_sees_the_others(
    pair: tuple[TantivyIndex, TantivyIndex],
) -> None:
    a, b = pair
    await a.upsert([doc("a1")])
    await a.refresh()
    assert await seen(b) == {"a1"}  # no refresh in b: its search reloads on the new commit
    await b.upsert([doc("b1", "橋梁補修")])
    await b.delete(["a1"])
    await b.refresh()
    assert await seen(a) == {"b1"}
    assert await seen(a, "橋梁") == {"b1"}
    await a.upsert([doc("a2")])
    await a.refresh()
    assert await seen(b) == await seen(a) == {"a2", "b1"}
    health = await b.health()
    assert health.ok
    assert health.detail == "2 documents"


class VirtualTime:
    """Stands in for the ``time`` module of ``indexer.backends.embedded``: ``sleep`` moves a
    virtual clock instead of waiting, so a lock wait is observed without timing it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class CountedSleeps:
    """The real ``time`` with ``sleep`` counted: ``retried`` is set at the first sleep (a
    writer found the lock busy and is waiting for it)."""

    def __init__(self) -> None:
        self.retried = threading.Event()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        self.retried.set()
        time.sleep(seconds)


async def test_pending_writes_keep_the_writer_until_refresh(
    pair: tuple[TantivyIndex, TantivyIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    await a.upsert([doc("a1")])
    await a.upsert([doc("a2")])  # same writer, no lock wait
    clock = VirtualTime()
    monkeypatch.setattr(embedded, "time", clock)
    with pytest.raises(BackendUnavailable) as caught:
        await b.upsert([doc("b1")])
    monkeypatch.undo()
    assert caught.value.reason == "index is locked by another process"
    # b retried with backoff until its lock timeout (0.3 s) had passed, then gave up
    assert len(clock.sleeps) > 3
    assert clock.sleeps == sorted(clock.sleeps[:-1]) + clock.sleeps[-1:]  # growing backoff
    assert clock.now == pytest.approx(b.lock_timeout_s)
    with pytest.raises(BackendUnavailable):
        await b.clear()
    assert await seen(b) == set()  # searching never needs the writer
    await a.refresh()
    await b.upsert([doc("b1")])
    await b.refresh()
    assert await seen(a) == {"a1", "a2", "b1"}


async def test_a_waiting_writer_gets_the_lock_when_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = TantivyIndex(tmp_path / "ix")
    b = TantivyIndex(tmp_path / "ix", lock_timeout_s=120.0)
    await a.open()
    await b.open()
    await a.upsert([doc("a1")])
    sleeps = CountedSleeps()
    monkeypatch.setattr(embedded, "time", sleeps)
    waiting = asyncio.create_task(b.upsert([doc("b1")]))
    assert await asyncio.to_thread(sleeps.retried.wait, 60)  # b found the lock busy
    assert not waiting.done()
    await a.refresh()
    await asyncio.wait_for(waiting, 60)
    await b.refresh()
    assert await seen(a) == {"a1", "b1"}
    await a.close()
    await b.close()


async def test_close_commits_and_releases(pair: tuple[TantivyIndex, TantivyIndex]) -> None:
    a, b = pair
    await a.upsert([doc("a1")])
    await a.close()
    await b.clear()  # takes and releases the writer
    assert await seen(b) == set()
    await a.open()
    await a.upsert([doc("a2")])
    await a.refresh()
    assert await seen(b) == {"a2"}


CHILD = """
import asyncio, json, sys
from pathlib import Path
from indexer.backends import embedded
from indexer.backends.embedded import TantivyIndex
from indexer.query import SearchQuery
from storage.errors import BackendUnavailable


async def ids(ix):
    result = await ix.search(SearchQuery(acl=None, limit=100))
    return sorted(h.id for h in result.hits)


async def main(path, mode):
    ix = TantivyIndex(Path(path), lock_timeout_s=0.5)
    await ix.open()
    out = {"before": await ids(ix)}
    new = [{"id": "child-" + mode, "type": "file", "title": "子プロセス", "stamp": 1}]
    try:
        await ix.upsert(new)
        if mode == "hold":
            print(json.dumps({"held": True}), flush=True)
            await asyncio.sleep(1.0)
        await ix.refresh()
    except BackendUnavailable as exc:
        out["error"] = exc.reason
    out["after"] = await ids(ix)
    await ix.close()
    print(json.dumps(out), flush=True)


asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def child(path: Path, mode: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(path),
        mode,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )


async def last_line(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def test_second_process_writes_in_turn(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    main = TantivyIndex(path, lock_timeout_s=120.0)  # waits for the child however slow
    await main.open()
    await main.upsert([doc("main1")])
    await main.refresh()

    # the child writes while this process holds the index open
    done = await last_line(await child(path, "write"))
    assert done == {"before": ["main1"], "after": ["child-write", "main1"]}
    assert await seen(main) == {"main1", "child-write"}

    # this process has pending writes: the child gives up after its lock timeout
    await main.upsert([doc("main2")])
    busy = await last_line(await child(path, "busy"))
    assert busy["error"] == "index is locked by another process"
    assert busy["after"] == ["child-write", "main1"]
    await main.refresh()

    # the child holds the writer for a second: this process waits for it, then writes
    proc = await child(path, "hold")
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    assert json.loads(line) == {"held": True}
    await main.upsert([doc("main3")])
    # main got the writer only after the child committed and let it go: the child's
    # document is already visible, before main's own refresh
    assert "child-hold" in await seen(main)
    await main.refresh()
    held = await last_line(proc)
    # the child searched right after its own refresh; this process's main3 may already be in
    assert {"child-hold", "child-write", "main1", "main2"} <= set(held["after"])
    assert await seen(main) == {"main1", "main2", "main3", "child-write", "child-hold"}
    await main.close()
