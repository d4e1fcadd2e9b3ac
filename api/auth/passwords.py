"""Password hashing (argon2id) and the password policy (seed 001 別表1-1 8(5)).

Passwords are NFKC-normalised before hashing and checking, so a password typed with the IME
in full-width mode (``ＡＢＣ１２３``) is the same password as its half-width form (NIST SP
800-63B 5.1.1.2 recommends NFKC/NFKD). Hashing runs in a worker thread: one argon2id verify
with the production parameters takes tens of milliseconds and must not block the event loop.
"""

from __future__ import annotations

import itertools
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from api.config import AuthSettings
from api.kit.text import has_control_chars

MAX_LENGTH = 128
# Unambiguous characters for generated one-time passwords (no 0/O, 1/l/I).
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


def normalize(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case (api/auth/common_passwords.txt)."""
    text = resources.files("api.auth").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


@dataclass(frozen=True)
class Rule:
    code: str
    description: str


RUN = 4  # this many equal or consecutive characters in a row are refused


def rules(settings: AuthSettings) -> list[Rule]:
    """The policy in Japanese, as shown to users (seed 001 別表1-1 8(5); the repetition,
    sequence and reuse rules follow NIST SP 800-63B 5.1.1.2, issue 7 item 12)."""
    history = settings.password_history
    reuse = (
        f"現在のパスワード、および直近{history}回に使ったパスワードと異なること"
        if history
        else "現在のパスワードと異なること"
    )
    return [
        Rule("min_length", f"{settings.password_min_length}文字以上であること"),
        Rule("max_length", f"{MAX_LENGTH}文字以内であること"),
        Rule("not_login_id", "ログインIDを含まないこと（英字の大文字・小文字は区別しません）"),
        Rule("not_common", "よく使われる推測されやすいパスワードでないこと"),
        Rule("no_control", "改行などの制御文字を含まないこと"),
        Rule(
            "no_repeat",
            f"同じ文字を{RUN}文字以上続けたり、短い並びを繰り返したりしないこと"
            "（aaaa、abababab など）",
        ),
        Rule("no_sequence", f"{RUN}文字以上の連続した並び（abcd、1234、4321 など）を含まないこと"),
        Rule("not_reused", reuse),
    ]


def _repeats(pw: str) -> bool:
    """A run of ``RUN`` equal characters, or the whole password one short unit repeated."""
    folded = pw.lower()
    run = 1
    for prev, ch in itertools.pairwise(folded):
        run = run + 1 if ch == prev else 1
        if run >= RUN:
            return True
    for unit in range(1, 5):
        whole, rest = divmod(len(folded), unit)
        if whole >= 3 and not rest and folded[:unit] * whole == folded:
            return True
    return False


def _sequence(pw: str) -> bool:
    """``RUN`` letters or digits in a row whose code points step by +1 or -1 (abcd, 4321)."""
    folded = pw.lower()
    run, step = 1, 0
    for prev, ch in itertools.pairwise(folded):
        diff = ord(ch) - ord(prev)
        if diff in (1, -1) and prev.isalnum() and ch.isalnum():
            run = run + 1 if diff == step else 2
            step = diff
        else:
            run, step = 1, 0
        if run >= RUN:
            return True
    return False


def check(settings: AuthSettings, password: str, login_id: str) -> list[Rule]:
    """The rules ``password`` fails; empty when it is acceptable. Reuse (``not_reused``)
    needs the stored hashes and is checked by ``AuthService.change_password``."""
    by_code = {r.code: r for r in rules(settings)}
    pw = normalize(password)
    failed: list[str] = []
    if len(pw) < settings.password_min_length:
        failed.append("min_length")
    if len(pw) > MAX_LENGTH:
        failed.append("max_length")
    if login_id and login_id.lower() in pw.lower():
        failed.append("not_login_id")
    if pw.lower() in common_passwords():
        failed.append("not_common")
    if has_control_chars(pw):
        failed.append("no_control")
    if _repeats(pw):
        failed.append("no_repeat")
    if _sequence(pw):
        failed.append("no_sequence")
    return [by_code[c] for c in failed]


def remembered(settings: AuthSettings, current_hash: str, history: list[str]) -> list[str]:
    """The password history after a change away from ``current_hash``: newest first, at most
    ``password_history`` hashes (issue 7 item 12)."""
    if settings.password_history == 0:
        return []
    return [current_hash, *history][: settings.password_history]


def max_age_text(settings: AuthSettings) -> str:
    if settings.password_max_age_days == 0:
        return "パスワードの有効期限はありません。"
    return (
        f"パスワードの有効期限は{settings.password_max_age_days}日です。"
        "期限を過ぎるとログイン後にパスワードの変更が必要になります。"
    )


def is_expired(settings: AuthSettings, changed_at: datetime | None, now: datetime) -> bool:
    """Whether the password is older than ``password_max_age_days`` (0 disables expiry)."""
    if settings.password_max_age_days == 0:
        return False
    if changed_at is None:
        return True
    return now - changed_at > timedelta(days=settings.password_max_age_days)


def generate(settings: AuthSettings, login_id: str = "") -> str:
    """A random one-time password that passes the policy (~95 bits at 16 characters)."""
    length = max(16, settings.password_min_length)
    while True:
        pw = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if not check(settings, pw, login_id):
            return pw


class Hasher:
    """argon2id with the configured parameters; see ``hasher_for`` for the shared instance."""

    def __init__(self, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._ph = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._dummy: str | None = None

    def hash_sync(self, password: str) -> str:
        return str(self._ph.hash(normalize(password)))

    def verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._ph.verify(password_hash, normalize(password)))
        except (VerificationError, InvalidHashError):
            return False

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hash_sync, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await anyio.to_thread.run_sync(self.verify_sync, password_hash, password)

    async def verify_dummy(self, password: str) -> None:
        """Spend the same time as a real verify, for unknown IDs (no user enumeration)."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return bool(self._ph.check_needs_rehash(password_hash))
        except InvalidHashError:
            return True


@cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> Hasher:
    return Hasher(time_cost, memory_kib, parallelism)


def hasher_for(settings: AuthSettings) -> Hasher:
    """One hasher per parameter set, so the dummy hash is computed once per process."""
    return _hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )
