"""Record ids made in bulk (``new_ids``) are the same kind of id as ``new_id``'s."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from api.archive.cas import upload_keys
from api.kit.ids import ID_RE, id_time, new_id, new_ids


def test_new_ids_are_valid_unique_and_carry_the_time() -> None:
    before = datetime.fromtimestamp(int(time.time() * 1000) / 1000, UTC)
    ids = new_ids(10_000)
    after = datetime.now(UTC)
    assert len(ids) == 10_000
    assert len(set(ids)) == 10_000
    assert all(ID_RE.fullmatch(i) for i in ids)
    for i in (ids[0], ids[-1]):
        assert before <= id_time(i) <= after + timedelta(milliseconds=1)
    # They sort with ids made one by one just before and after (time first).
    first = new_id()
    time.sleep(0.002)
    middle = new_ids(3)
    time.sleep(0.002)
    last = new_id()
    assert all(first < m < last for m in middle)
    assert new_ids(0) == []


def test_upload_keys_are_fresh_object_keys() -> None:
    keys = upload_keys("wa-W1", 500)
    assert len(set(keys)) == 500
    for key in keys:
        s, scope, prefix, folder, oid = key.split("/")
        assert (s, scope, prefix) == ("s", "wa-W1", "objects")
        assert folder == oid[-2:]
        assert ID_RE.fullmatch(oid)
