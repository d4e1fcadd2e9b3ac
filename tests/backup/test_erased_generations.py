"""``kura backup`` and ``kura keys erase`` with the erasure pass over older generations (issue 12
§2 "nothing kept that should be erased"; seed 001 §3-6, 別表3 12(2)), through the commands:

- ``kura keys erase`` rewrites the generations in its own process (no worker) and the next
  ``kura backup`` has nothing left to do;
- a generation that cannot be rewritten (its records file damaged) is reported: ``kura
  backup`` still writes its new generation, names the old one on stderr and exits 2, and
  nothing of the damaged generation is changed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.backup.generations import list_generations
from api.cli._run import with_container
from api.container import Container
from tests.backup.support import kura

MARK = "消去対象の記録語"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KURA_LOG_JSON", "false")
    monkeypatch.setenv("KURA_JOBS__EAGER", "true")
    monkeypatch.setenv("KURA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KURA_BACKUP__TARGET", str(tmp_path / "backups"))

    async def build(c: Container) -> None:
        for work in ("W1", "W2"):
            await c.records.insert(
                "proposals", {"id": f"P-{work}", "work_id": work, "title": f"{MARK} {work}"}
            )

    with_container(build)
    return tmp_path / "backups"


def records_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in (folder / "generations").rglob("records*.sqlite3")
    }


def test_kura_keys_erase_rewrites_the_generations_itself(folder: Path) -> None:
    assert kura("backup").exit_code == 0
    [gen1] = list_generations(folder / "generations")
    w1 = f"{MARK} W1".encode()
    assert any(w1 in data for data in records_files(folder).values())
    done = kura("keys", "erase", "wc-W1", "--by", "運用者", "--yes")
    assert done.exit_code == 0, done.output
    files = records_files(folder)
    assert [n for n, data in files.items() if w1 in data] == []
    assert all(f"{MARK} W2".encode() in data for data in files.values())
    again = kura("backup")
    assert again.exit_code == 0, again.output
    assert "records of erased" not in again.output  # nothing was left for the backup
    assert gen1 in list_generations(folder / "generations")


def test_a_generation_that_cannot_be_rewritten_makes_kura_backup_exit_2(folder: Path) -> None:
    assert kura("backup").exit_code == 0
    [gen1] = list_generations(folder / "generations")
    damaged = folder / "generations" / gen1 / "records.sqlite3"
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\x00")
    before = {p.name: p.read_bytes() for p in damaged.parent.iterdir()}
    done = kura("keys", "erase", "wc-W1", "--by", "運用者", "--yes")
    assert done.exit_code == 0, done.output  # the erasure itself is complete
    result = kura("backup")
    assert result.exit_code == 2, result.output
    assert f"backup incomplete: generation {gen1} still holds" in result.output
    assert "does not match its SHA-256" in result.output
    gens = list_generations(folder / "generations")
    assert len(gens) == 2  # the new generation was written
    assert {p.name: p.read_bytes() for p in damaged.parent.iterdir()} == before
    w1 = f"{MARK} W1".encode()
    assert w1 not in (folder / "generations" / gens[-1] / "records.sqlite3").read_bytes()
