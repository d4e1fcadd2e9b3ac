"""kill -9 while ``kura backup`` removes an erased scope's records from an older generation
(issue 12 §2 "nothing kept that should be erased"; seed 001 §3-6; issue 12 "Bad input and
faults": an interrupted backup is resumable and never half-applied).

The real ``kura backup`` is parked (``api.kit.faults``) and killed with SIGKILL after it put
the rewritten records file and the new manifest into the generation, before the one write that
switches ``manifest.sha256`` to them (``api.backup.erased``); and, in a second run, right
after that switch, before the old files are deleted. Each time the generation is complete and
verifies (the old one, then the new one); the next ``kura backup`` finishes the work, leaves no
file the manifest does not name, and no file of the generation holds the erased scope's text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from api.backup.generations import Target, backup, read_manifest
from api.backup.lock import BackupLock
from api.keys.erasure import erase
from tests.cli.test_serve import kura_command
from tests.erasures.support import MARK, MARK_BYTES
from tests.integration.test_kill_9 import base_env, kill_at, kura, opened, settings_of

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


W1 = f"{MARK} W1".encode()
W2 = f"{MARK} W2".encode()


def records_file(manifest: dict[str, object]) -> str:
    records = manifest["records"]
    assert isinstance(records, dict)
    return str(records["file"])


def gen_files(folder: Path, gen: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (folder / "generations" / gen).iterdir()}


def verifies(folder: Path, gen: str) -> dict[str, object]:
    """The generation's manifest and records file against their SHA-256 (plain reads)."""
    files = gen_files(folder, gen)
    sha, name = files["manifest.sha256"].decode().split()
    assert hashlib.sha256(files[name]).hexdigest() == sha
    manifest: dict[str, object] = json.loads(files[name])
    records = manifest["records"]
    assert isinstance(records, dict)
    assert hashlib.sha256(files[records["file"]]).hexdigest() == records["sha256"]
    return manifest


async def test_backup_killed_while_rewriting_a_generation_completes_on_the_next_run(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "backups"
    # every generation kept: the runs below must not prune the one being rewritten
    env = base_env(tmp_path / "data", KURA_BACKUP__TARGET=str(folder), KURA_BACKUP__KEEP_LAST="20")
    settings = settings_of(env, backup={"target": folder, "keep_last": 20})
    async with opened(settings) as c:
        for work in ("W1", "W2"):
            await c.records.insert(
                "proposals", {"id": f"P-{work}", "work_id": work, "title": f"{MARK} {work}"}
            )
        gen1 = (await backup(c, Target.of(settings))).generation
        # a backup holds the target while both erasures finish: the generation keeps the
        # records until the next `kura backup`
        async with BackupLock(Target.of(settings).data, c.clock, 3600).held():
            await erase(c, "wc-W1", "system:test")
    assert W1 in gen_files(folder, gen1)["records.sqlite3"]

    # killed before the switch: the old generation, complete, plus unnamed new files
    kill_at([*kura_command(), "backup"], env, "backup.erased_manifest", tmp_path)
    manifest = verifies(folder, gen1)
    assert manifest.get("erasures_applied") == []
    assert W1 in gen_files(folder, gen1)["records.sqlite3"]
    assert len(gen_files(folder, gen1)) > 4  # the new records file and manifest, not named

    # the next run takes over the dead run's lock and applies the erasure
    done = kura(env, "backup")
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = verifies(folder, gen1)
    assert manifest["erasures_applied"] == ["wc-W1"]
    assert len(gen_files(folder, gen1)) == 4  # manifest.sha256, manifest, records, summary
    assert [n for n, data in gen_files(folder, gen1).items() if W1 in data] == []
    assert W2 in gen_files(folder, gen1)[records_file(manifest)]

    # a second erasure; killed right after the switch: the new generation, complete
    async with (
        opened(settings) as c,
        BackupLock(Target.of(settings).data, c.clock, 3600).held(),
    ):
        await erase(c, "wc-W2", "system:test")
    kill_at([*kura_command(), "backup"], env, "backup.erased_switched", tmp_path)
    manifest = verifies(folder, gen1)
    assert manifest["erasures_applied"] == ["wc-W1", "wc-W2"]
    assert len(gen_files(folder, gen1)) > 4  # the old records file and manifest are left
    done = kura(env, "backup")
    assert done.returncode == 0, done.stdout + done.stderr
    verifies(folder, gen1)
    assert len(gen_files(folder, gen1)) == 4
    assert [n for n, data in gen_files(folder, gen1).items() if MARK_BYTES in data] == []
    async with opened(settings) as c:
        assert (await read_manifest(Target.of(settings).data, gen1))["erasures_applied"] == [
            "wc-W1",
            "wc-W2",
        ]
