"""The ``Kek`` port on a PKCS#11 token: the KEK is a non-extractable AES-256 key inside an HSM
(issue 12 §1: "an adapter for an external KMS where one is configured").

Any PKCS#11 token works: a network HSM (Thales Luna, Entrust nShield, Utimaco), a cloud HSM
that ships a PKCS#11 library, a YubiHSM 2 (``yubihsm_pkcs11.so``), SoftHSM2 in the tests.
Settings (``KURA_KEYS__KEK=pkcs11``): ``PKCS11_MODULE`` (the vendor's library),
``PKCS11_TOKEN`` (token label), ``PKCS11_KEY_LABEL`` (label of the KEKs), ``PKCS11_PIN_FILE``
(the user PIN in a 0600 file, read with ``api.kit.secretfile``).

Mechanism: ``CKM_AES_GCM`` with a random 96-bit IV and the data key's id and scope as
associated data, chosen over ``CKM_AES_KEY_WRAP_PAD`` because GCM is on the CRYPTREC list
(seed 001 別表3 2(2): 電子政府推奨暗号リスト, 認証付き暗号利用モード) while the AES key wrap
modes (RFC 3394/5649) are not, and because the associated data binds a wrapped key to its id
and scope exactly as the keyring adapter does: the stored form is the same
``nonce || ciphertext || tag``. The data key goes to the token and comes back wrapped
(``C_Encrypt``); unwrapping is ``C_Decrypt`` inside the token; the KEK itself never leaves it
(``CKA_SENSITIVE`` true, ``CKA_EXTRACTABLE`` false, checked at start: an exportable key is
refused). A KEK's id is its ``CKA_ID`` in hex; the current one is the greatest id among the
AES keys labelled ``PKCS11_KEY_LABEL`` (``rotate`` makes ids that begin with their creation
time, so the newest sorts last).

Every failure at start is a ``HsmError`` naming the setting or the step that fixes it (the
library missing, no such token, a wrong or locked PIN, no key, an exportable key, a token
without AES-GCM). A lost session (HSM restarted, network cut) is reopened once per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from api.keys.kek import KekError, KekMissing
from api.kit import pkcs11lib
from api.kit.secretfile import read_secret_file
from storage.ports import Health

T = TypeVar("T")
KEY_BYTES = 32
NONCE_BYTES = 12


class HsmError(KekError):
    """The PKCS#11 token or its KEK cannot be used; the words say what to fix."""


def _fail(path: Path, problem: str, fix: str) -> HsmError:
    return HsmError(f"PIN file {path}: {problem}; {fix}")


@dataclass
class _Library:
    """The sessions on one PKCS#11 library (``api.kit.pkcs11lib``): the login state is per
    process, so every adapter on the same module shares one logged-in session per token."""

    lib: Any
    path: str
    refs: int = 0
    sessions: dict[str, Any] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


_LIBRARIES: dict[str, _Library] = {}
_REGISTRY = threading.Lock()


def _session_lost(exc: BaseException) -> bool:
    from pkcs11 import exceptions as e

    return isinstance(
        exc,
        e.SessionHandleInvalid
        | e.SessionClosed
        | e.DeviceRemoved
        | e.TokenNotPresent
        | e.DeviceError
        | e.UserNotLoggedIn,
    )


class Pkcs11Kek:
    """KEKs as AES-256 keys inside a PKCS#11 token; data keys wrapped by the token."""

    name = "pkcs11"

    def __init__(
        self, module: Path | None, token: str, key_label: str, pin_file: Path | None
    ) -> None:
        self.module = module
        self.token = token
        self.key_label = key_label
        self.pin_file = pin_file
        self._library: _Library | None = None
        self._keys: dict[str, Any] = {}
        self._created: dict[str, datetime | None] = {}

    def where(self) -> str:
        return f"PKCS#11 token {self.token!r}, key label {self.key_label!r} ({self.module})"

    # -- life cycle -------------------------------------------------------------------------

    async def open(self, *, create: bool) -> None:
        # ``create`` is ignored: a KEK in an HSM is made on purpose (``kura keys rotate-kek``
        # or the HSM's own tools), never as a side effect of a start.
        await asyncio.to_thread(self._connect)
        try:
            if not self._keys:
                raise KekMissing(
                    f"{self.where()}: the token holds no AES key with this label; create it "
                    "with `kura keys rotate-kek` (or with the HSM's tools: AES-256, CKA_TOKEN, "
                    "CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_ENCRYPT and CKA_DECRYPT, a CKA_ID, "
                    "this label), or set KURA_KEYS__PKCS11_KEY_LABEL"
                )
            await self._self_test()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await asyncio.to_thread(self._release)

    async def health(self) -> Health:
        try:
            await self._self_test()
        except KekError as exc:
            return Health(ok=False, backend="pkcs11", detail=str(exc))
        return Health(ok=True, backend="pkcs11")

    # -- Kek --------------------------------------------------------------------------------

    def current_id(self) -> str:
        if not self._keys:
            raise KekMissing(f"{self.where()}: no KEK on the token")
        return max(self._keys)

    def ids(self) -> list[str]:
        return sorted(self._keys)

    def created(self) -> datetime | None:
        return self._created.get(self.current_id()) if self._keys else None

    async def wrap(self, secret: bytes, aad: bytes) -> tuple[str, bytes]:
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        kek_id = self.current_id()
        nonce = os.urandom(NONCE_BYTES)

        def run() -> bytes:
            sealed: bytes = self._keys[kek_id].encrypt(
                secret, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad)
            )
            return sealed

        return kek_id, nonce + await self._call(run, "wrap a data key")

    async def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        from pkcs11 import Mechanism, PKCS11Error
        from pkcs11.mechanisms import GCMParams

        if kek_id not in self._keys:
            # Rotated by another process since this one loaded its keys: look again once.
            await self._call(lambda: self._reload(), "list the KEKs")
        if kek_id not in self._keys:
            raise HsmError(
                f"{self.where()}: has no key {kek_id} (a data key was wrapped by another KEK); "
                "point the settings at the token and key label of this deployment, or restore "
                "the key into the HSM from its backup"
            )

        def run() -> bytes:
            plain: bytes = self._keys[kek_id].decrypt(
                wrapped[NONCE_BYTES:],
                mechanism=Mechanism.AES_GCM,
                mechanism_param=GCMParams(wrapped[:NONCE_BYTES], aad),
            )
            return plain

        try:
            return await self._call(run, "unwrap a data key")
        except HsmError as exc:
            if isinstance(exc.__cause__, PKCS11Error) and not _session_lost(exc.__cause__):
                raise HsmError(
                    f"{self.where()}: a data key does not unwrap with key {kek_id} (the key "
                    "store was altered, or the token's key was replaced)"
                ) from None
            raise

    async def rotate(self) -> str:
        """A new AES-256 KEK generated inside the token (non-extractable, sensitive), with
        an id that begins with its creation time so it becomes the current one."""
        from pkcs11 import Attribute, KeyType

        if self._library is None:
            await asyncio.to_thread(self._connect)
        new_id = struct.pack(">I", int(time.time())) + os.urandom(4)
        newest = max(self._keys, default="")
        if new_id.hex() <= newest:  # made within the same second, or a clock set back
            new_id = (int(newest, 16) + 1).to_bytes(max(8, len(newest) // 2), "big")

        def run() -> None:
            assert self._library is not None
            session = self._library.sessions[self.token]
            session.generate_key(
                KeyType.AES,
                KEY_BYTES * 8,
                id=new_id,
                label=self.key_label,
                store=True,
                template={
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.ENCRYPT: True,
                    Attribute.DECRYPT: True,
                    Attribute.WRAP: False,
                    Attribute.UNWRAP: False,
                    Attribute.START_DATE: datetime.now(UTC).date(),
                },
            )
            self._load_keys(session)

        await self._call(run, "generate a KEK")
        await self._self_test()
        return new_id.hex()

    # -- internals --------------------------------------------------------------------------

    async def _self_test(self) -> None:
        """Wrap and unwrap a random key with the current KEK: the token is reachable, logged
        in, and does AES-GCM with this key."""
        probe = os.urandom(KEY_BYTES)
        kek_id, wrapped = await self.wrap(probe, b"kura-kek-self-test")
        if await self.unwrap(kek_id, wrapped, b"kura-kek-self-test") != probe:
            raise HsmError(f"{self.where()}: the token's AES-GCM answered a wrong result")

    async def _call(self, fn: Callable[[], T], what: str) -> T:
        def locked() -> T:
            from pkcs11 import PKCS11Error

            if self._library is None:
                self._connect()
            for attempt in (1, 2):
                assert self._library is not None
                with self._library.lock:
                    try:
                        return fn()
                    except PKCS11Error as exc:
                        if attempt == 1 and _session_lost(exc):
                            self._reopen()
                            continue
                        raise HsmError(
                            f"{self.where()}: could not {what} ({type(exc).__name__})"
                        ) from exc
            raise AssertionError("unreachable")

        return await asyncio.to_thread(locked)

    def _pin(self) -> str:
        if self.pin_file is None:
            raise HsmError(
                f"{self.where()}: no PIN file; put the token's user PIN in a 0600 file and set "
                "KURA_KEYS__PKCS11_PIN_FILE to it"
            )
        try:
            raw = read_secret_file(
                self.pin_file,
                setting="KURA_KEYS__PKCS11_PIN_FILE",
                name="the PIN file",
                holds="the PIN of the HSM token",
                fail=_fail,
            )
        except FileNotFoundError:
            raise _fail(
                self.pin_file,
                "does not exist",
                "put the token's user PIN in it (mode 600) or set KURA_KEYS__PKCS11_PIN_FILE",
            ) from None
        return raw.decode("utf-8").strip()

    def _connect(self) -> None:
        """Load the library (shared per process), open and log in a session on the token,
        and find the KEKs."""
        if self._library is not None:
            return
        if self.module is None or not self.module.is_file():
            raise HsmError(
                f"PKCS#11 module {self.module}: does not exist; install the HSM vendor's "
                "PKCS#11 library (SoftHSM: apt-get install softhsm2) and set "
                "KURA_KEYS__PKCS11_MODULE to its path"
            )
        pin = self._pin()
        import pkcs11

        key = os.path.realpath(self.module)
        with _REGISTRY:
            library = _LIBRARIES.get(key)
            if library is None:
                try:
                    library = _Library(pkcs11lib.acquire(key), key)
                except pkcs11.PKCS11Error as exc:
                    raise HsmError(
                        f"PKCS#11 module {self.module}: cannot be loaded ({exc}); set "
                        "KURA_KEYS__PKCS11_MODULE to the HSM vendor's PKCS#11 library"
                    ) from exc
                _LIBRARIES[key] = library
            library.refs += 1
        try:
            with library.lock:
                session = library.sessions.get(self.token)
                if session is None:
                    session = self._login(library, pin)
                    library.sessions[self.token] = session
                self._library = library
                self._load_keys(session)
        except BaseException:
            self._library = library
            self._release()
            raise

    def _login(self, library: _Library, pin: str) -> Any:
        from pkcs11 import exceptions as e

        try:
            token = library.lib.get_token(token_label=self.token)
        except e.NoSuchToken:
            labels = []
            for slot in library.lib.get_slots(token_present=True):
                try:
                    labels.append(slot.get_token().label)
                except e.PKCS11Error:
                    continue
            raise HsmError(
                f"{self.where()}: no token with this label (present: "
                f"{', '.join(repr(x) for x in labels) or 'none'}); initialise the token or set "
                "KURA_KEYS__PKCS11_TOKEN to its label"
            ) from None
        except e.MultipleTokensReturned:
            raise HsmError(
                f"{self.where()}: several tokens carry this label; give each a label of its own"
            ) from None
        try:
            return token.open(rw=True, user_pin=pin)
        except e.PinIncorrect:
            raise HsmError(
                f"{self.where()}: the PIN in {self.pin_file} is wrong (the token locks after "
                "a few wrong PINs); put the token's user PIN in the PIN file"
            ) from None
        except e.PinLocked:
            raise HsmError(
                f"{self.where()}: the user PIN is locked after too many wrong tries; the "
                "token's security officer must unlock or reset it"
            ) from None
        except (e.PinExpired, e.PinLenRange, e.PinInvalid) as exc:
            raise HsmError(
                f"{self.where()}: the PIN in {self.pin_file} is not accepted "
                f"({type(exc).__name__}); set a valid user PIN on the token and in the file"
            ) from None
        except e.PKCS11Error as exc:
            raise HsmError(
                f"{self.where()}: cannot open a session ({type(exc).__name__}); check that "
                "the HSM is reachable and the token initialised"
            ) from exc

    def _load_keys(self, session: Any) -> None:
        from pkcs11 import Attribute, KeyType, ObjectClass

        keys: dict[str, Any] = {}
        created: dict[str, datetime | None] = {}
        for obj in session.get_objects(
            {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: self.key_label}
        ):
            ident = bytes(obj[Attribute.ID] or b"").hex()
            if obj[Attribute.KEY_TYPE] != KeyType.AES or obj[Attribute.VALUE_LEN] != KEY_BYTES:
                raise HsmError(
                    f"{self.where()}: key {ident or '(no id)'} is not an AES-256 key; give "
                    "the KEK a label of its own"
                )
            if not ident:
                raise HsmError(
                    f"{self.where()}: a key with this label has no CKA_ID; give it one (the "
                    "id names the KEK in every wrapped data key)"
                )
            if obj[Attribute.EXTRACTABLE] or not obj[Attribute.SENSITIVE]:
                raise HsmError(
                    f"{self.where()}: key {ident} can be exported from the token "
                    "(CKA_EXTRACTABLE or not CKA_SENSITIVE); make a non-extractable one with "
                    "`kura keys rotate-kek` and re-wrap"
                )
            keys[ident] = obj
            created[ident] = _start_date(obj)
        self._keys = keys
        self._created = created

    def _reload(self) -> None:
        assert self._library is not None
        self._load_keys(self._library.sessions[self.token])

    def _reopen(self) -> None:
        """A lost session: log in again on a new one (called with the library lock held)."""
        assert self._library is not None
        old = self._library.sessions.pop(self.token, None)
        if old is not None:
            with contextlib.suppress(Exception):  # the session is gone already
                old.close()
        session = self._login(self._library, self._pin())
        self._library.sessions[self.token] = session
        self._load_keys(session)

    def _release(self) -> None:
        library, self._library = self._library, None
        self._keys = {}
        if library is None:
            return
        with _REGISTRY:
            library.refs -= 1
            if library.refs > 0:
                return
            for session in library.sessions.values():
                with contextlib.suppress(Exception):  # closing: nothing to do about it
                    session.close()
            library.sessions.clear()
            for key, value in list(_LIBRARIES.items()):
                if value is library:
                    del _LIBRARIES[key]
            pkcs11lib.release(library.path)


def _start_date(obj: Any) -> datetime | None:
    from pkcs11 import Attribute
    from pkcs11 import exceptions as e

    try:
        value = obj[Attribute.START_DATE]
    except (e.PKCS11Error, ValueError, TypeError):
        return None
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None
