"""Issue 7 item 10: no answer or cost that tells a real login ID or another organization's
user from an unknown one.

Timing is asserted structurally (which argon2 work each path does), never with a clock:
``bench/bench_login.py --oracles`` prints the measured times beside each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from api.auth import passwords
from tests.auth.harness import PASSWORD, Harness

pytestmark = pytest.mark.anyio


def count_verifies(h: Harness, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every argon2 verify the shared hasher runs (the dummy one included)."""
    hasher = passwords.hasher_for(h.container.settings.auth)
    calls: list[str] = []
    real: Callable[[str, str], Awaitable[bool]] = hasher.verify

    async def verify(password_hash: str, password: str) -> bool:
        calls.append(password)
        return await real(password_hash, password)

    monkeypatch.setattr(hasher, "verify", verify)
    return calls


async def lock(h: Harness, login_id: str) -> None:
    for _ in range(h.container.settings.auth.lockout_threshold):
        await h.login(login_id, "wrong-password-000")


async def test_locked_account_costs_one_verify_like_an_unknown_id(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await h.org()
    await h.user("locked.user", org)
    await lock(h, "locked.user")
    await lock(h, "ghost.user")
    calls = count_verifies(h, monkeypatch)
    answers = {}
    for login_id, password in (
        ("locked.user", PASSWORD),  # a real, locked account (right password even)
        ("ghost.user", PASSWORD),  # an unknown ID locked by its own failures
        ("never.seen", PASSWORD),  # an unknown ID
    ):
        before = len(calls)
        _, r = await h.login(login_id, password)
        answers[login_id] = r
        # each path runs exactly one argon2 verify (the old code ran none for a locked
        # account: 5 ms against 250 ms)
        assert len(calls) - before == 1, login_id
    assert answers["locked.user"].status_code == answers["ghost.user"].status_code == 423
    strip = {"instance"}
    locked = {k: v for k, v in answers["locked.user"].json().items() if k not in strip}
    ghost = {k: v for k, v in answers["ghost.user"].json().items() if k not in strip}
    assert locked == ghost
    assert answers["never.seen"].status_code == 401


async def test_wrong_password_and_disabled_cost_one_verify(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await h.org()
    await h.user("plain.user", org)
    calls = count_verifies(h, monkeypatch)
    _, r = await h.login("plain.user", "wrong-password-000")
    assert r.status_code == 401
    assert len(calls) == 1
