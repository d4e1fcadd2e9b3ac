"""The KEK inside a PKCS#11 HSM (issue 12 §1), on a real SoftHSM2 token made in tmp.

The deployment is built from settings (``KURA_KEYS__KEK=pkcs11``) as a real process builds it;
what the token holds is read back through python-pkcs11 directly, so the expectations (a
non-extractable AES key, its CKA_ID in the wrapped record, the token doing AES-GCM with the
key id and scope as associated data) come from the token, not from the code under test.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import cli
from api.config import Settings
from api.container import Container
from api.keys.hsm import HsmError
from api.keys.kek import KekError, KekMissing
from api.keys.ring import DATA_KEYS
from api.kit import pkcs11lib

pytestmark = pytest.mark.anyio

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "5678"
INIT_TOKEN = ("softhsm2-util", "--init-token", "--free", "--label", "kura", "--so-pin", "12345678")
DATA = b"KURA-PLAINTEXT-MARKER-" * 5000


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def read(c: Container, key: str) -> bytes:
    return b"".join([x async for x in c.blobs.get(key)])


@pytest.fixture
def hsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A SoftHSM2 token ``kura`` (user PIN 5678) and a 0600 PIN file; no key on it yet."""
    if not SOFTHSM.exists() or shutil.which("softhsm2-util") is None:
        pytest.skip("softhsm2 not installed (apt-get install softhsm2; scripts/setup --dev)")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        [*INIT_TOKEN, "--pin", PIN],
        check=True,
        capture_output=True,
    )
    pin = tmp_path / "pin"
    pin.write_text(PIN + "\n")
    pin.chmod(0o600)
    env = {
        "KURA_DATA_DIR": str(tmp_path / "data"),
        "KURA_LOG_JSON": "false",
        "KURA_JOBS__EAGER": "true",
        "KURA_KEYS__KEK": "pkcs11",
        "KURA_KEYS__PKCS11_MODULE": str(SOFTHSM),
        "KURA_KEYS__PKCS11_TOKEN": "kura",
        "KURA_KEYS__PKCS11_KEY_LABEL": "kura-kek",
        "KURA_KEYS__PKCS11_PIN_FILE": str(pin),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {"pin": pin, "env": env, "root": tmp_path}


def token_keys() -> list[dict[str, Any]]:
    """The secret keys on the token, read with python-pkcs11 (not through Kura)."""
    from pkcs11 import Attribute, ObjectClass

    lib = pkcs11lib.acquire(str(SOFTHSM))  # one library object per process
    try:
        with lib.get_token(token_label="kura").open(user_pin=PIN) as session:
            return [
                {
                    "id": bytes(k[Attribute.ID]).hex(),
                    "label": k[Attribute.LABEL],
                    "extractable": k[Attribute.EXTRACTABLE],
                    "sensitive": k[Attribute.SENSITIVE],
                    "bits": k[Attribute.VALUE_LEN] * 8,
                }
                for k in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})
            ]
    finally:
        pkcs11lib.release(str(SOFTHSM))


def kura(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


async def akura(*args: str) -> Any:
    """``kura`` from an async test: the command runs its own event loop, in a thread."""
    return await asyncio.to_thread(kura, *args)


async def opened() -> Container:
    c = Container(Settings())
    await c.open()
    return c


async def test_data_keys_are_wrapped_by_a_non_extractable_key_inside_the_token(
    hsm: dict[str, Any],
) -> None:
    created = await akura("keys", "rotate-kek")
    assert created.exit_code == 0, created.output
    [kek] = token_keys()
    assert kek["label"] == "kura-kek"
    assert (kek["bits"], kek["extractable"], kek["sensitive"]) == (256, False, True)
    assert kek["id"] in created.output

    c = await opened()
    try:
        await c.blobs.put("s/wc-W1/a", one(DATA))
        assert await read(c, "s/wc-W1/a") == DATA
        [record] = [r async for r in c.keys.store.scan(DATA_KEYS)]
        assert (await c.health())["keys"].ok
    finally:
        await c.close()
    assert record["kek"] == kek["id"]
    # No keyring file: the KEK exists only inside the token.
    assert not Settings().keyring_path.exists()

    # The token itself unwraps the stored record (AES-GCM, aad = label || key id || scope).
    import pkcs11
    from pkcs11 import Attribute, Mechanism, ObjectClass
    from pkcs11.mechanisms import GCMParams

    blob = base64.b64decode(record["wrapped"])
    aad = b"kura-data-key/1" + bytes.fromhex(record["id"]) + b"wc-W1"
    lib = pkcs11lib.acquire(str(SOFTHSM))  # one library object per process
    try:
        with lib.get_token(token_label="kura").open(user_pin=PIN) as session:
            key = session.get_key(ObjectClass.SECRET_KEY, label="kura-kek")
            secret = key.decrypt(
                blob[12:], mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(blob[:12], aad)
            )
            assert len(secret) == 32
            with pytest.raises(pkcs11.PKCS11Error):
                key[Attribute.VALUE]  # the KEK cannot be read out
    finally:
        pkcs11lib.release(str(SOFTHSM))


async def test_a_token_without_the_key_refuses_to_start_and_says_how_to_make_it(
    hsm: dict[str, Any],
) -> None:
    with pytest.raises(KekMissing, match="kura keys rotate-kek"):
        await opened()
    started = await akura("keys", "list")
    assert started.exit_code == 2
    assert "rotate-kek" in started.output


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("KURA_KEYS__PKCS11_MODULE", "/nonexistent/libvendor.so", "install the HSM vendor"),
        ("KURA_KEYS__PKCS11_TOKEN", "other", "present: 'kura'"),
        ("KURA_KEYS__PKCS11_PIN_FILE", "/nonexistent/pin", "does not exist"),
        ("KURA_KEYS__PKCS11_KEY_LABEL", "absent", "holds no AES key with this label"),
    ],
)
async def test_wrong_settings_refuse_to_start_naming_the_fix(
    hsm: dict[str, Any], monkeypatch: pytest.MonkeyPatch, setting: str, value: str, words: str
) -> None:
    assert (await akura("keys", "rotate-kek")).exit_code == 0
    monkeypatch.setenv(setting, value)
    with pytest.raises(KekError, match=words) as caught:
        await opened()
    assert setting in str(caught.value) or "rotate-kek" in str(caught.value)


async def test_a_wrong_pin_or_an_exposed_pin_file_refuses_to_start(
    hsm: dict[str, Any],
) -> None:
    assert (await akura("keys", "rotate-kek")).exit_code == 0
    pin: Path = hsm["pin"]
    await asyncio.to_thread(pin.write_text, "0000\n")
    with pytest.raises(HsmError, match=r"PIN in .* is wrong"):
        await opened()
    await asyncio.to_thread(pin.write_text, PIN)
    await asyncio.to_thread(pin.chmod, 0o644)
    with pytest.raises(HsmError, match="chmod 600"):
        await opened()
    await asyncio.to_thread(pin.chmod, 0o600)
    await (await opened()).close()


@pytest.mark.slow
def test_kura_serve_refuses_to_start_with_a_wrong_pin(hsm: dict[str, Any]) -> None:
    """Exit 2 with the words, no traceback (the keyring's rule, ``tests/cli/test_serve``)."""
    from tests.cli.test_serve import free_port, kura_command, kura_env

    assert kura("keys", "rotate-kek").exit_code == 0
    hsm["pin"].write_text("0000\n")
    env = kura_env(
        hsm["root"] / "data", **{**hsm["env"], "KURA_DATA_DIR": str(hsm["root"] / "data")}
    )
    done = subprocess.run(
        [*kura_command(), "serve", "--no-worker", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "is wrong" in done.stderr
    assert "Traceback" not in done.stderr


async def test_an_exportable_key_with_the_label_is_refused(hsm: dict[str, Any]) -> None:
    from pkcs11 import Attribute, KeyType

    lib = pkcs11lib.acquire(str(SOFTHSM))  # one library object per process
    try:
        with lib.get_token(token_label="kura").open(rw=True, user_pin=PIN) as session:
            session.generate_key(
                KeyType.AES,
                256,
                id=b"\x01" * 8,
                label="kura-kek",
                store=True,
                template={Attribute.EXTRACTABLE: True, Attribute.SENSITIVE: False},
            )
    finally:
        pkcs11lib.release(str(SOFTHSM))
    with pytest.raises(HsmError, match="can be exported"):
        await opened()


async def test_rotation_and_rewrap_then_the_old_kek_can_be_retired(hsm: dict[str, Any]) -> None:
    assert (await akura("keys", "rotate-kek")).exit_code == 0
    c = await opened()
    await c.blobs.put("s/wc-W1/a", one(DATA))
    await c.close()
    [first] = token_keys()

    rotated = await akura("keys", "rotate-kek")
    assert rotated.exit_code == 0, rotated.output
    second = next(k for k in token_keys() if k["id"] != first["id"])
    assert second["id"] > first["id"]
    c = await opened()
    try:
        await c.blobs.put("s/wc-W2/b", one(DATA))
        keks = {r["scope"]: r["kek"] async for r in c.keys.store.scan(DATA_KEYS)}
        assert keks == {"wc-W1": first["id"], "wc-W2": second["id"]}
        assert await read(c, "s/wc-W1/a") == DATA  # the older KEK still unwraps
    finally:
        await c.close()

    rewrapped = await akura("keys", "rotate-kek", "--rewrap")
    assert rewrapped.exit_code == 0, rewrapped.output
    assert "re-wrapped" in rewrapped.output
    third = max(k["id"] for k in token_keys())
    # Retire every older KEK on the token: every data key still unwraps.
    from pkcs11 import Attribute, ObjectClass

    lib = pkcs11lib.acquire(str(SOFTHSM))  # one library object per process
    try:
        with lib.get_token(token_label="kura").open(rw=True, user_pin=PIN) as session:
            for key in list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})):
                if bytes(key[Attribute.ID]).hex() != third:
                    key.destroy()
    finally:
        pkcs11lib.release(str(SOFTHSM))
    c = await opened()
    try:
        keks = {r["scope"]: r["kek"] async for r in c.keys.store.scan(DATA_KEYS)}
        assert keks == {"wc-W1": third, "wc-W2": third}
        c.keys.forget()
        assert await read(c, "s/wc-W1/a") == DATA
        assert await read(c, "s/wc-W2/b") == DATA
    finally:
        await c.close()


async def test_an_altered_wrapped_key_does_not_unwrap(hsm: dict[str, Any]) -> None:
    assert (await akura("keys", "rotate-kek")).exit_code == 0
    c = await opened()
    try:
        await c.blobs.put("s/wc-W1/a", one(DATA))
        [record] = [r async for r in c.keys.store.scan(DATA_KEYS)]
        moved = {"scope": "wc-W9"}  # the wrapped key moved to another scope
        await c.keys.store.update(DATA_KEYS, record["id"], moved, record["version"])
        c.keys.forget()
        with pytest.raises(HsmError, match="does not unwrap"):
            await read(c, "s/wc-W1/a")
    finally:
        await c.close()


def test_backup_and_restore_with_the_kek_in_the_hsm(
    hsm: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key generation holds the wrapped keys and names the KEK, never a keyring: the KEK
    stays in the token (backed up by the HSM's own means); a restore needs the same token."""
    import json

    from api.backup.generations import list_generations
    from api.cli._run import with_container

    root: Path = hsm["root"]
    monkeypatch.setenv("KURA_BACKUP__TARGET", str(root / "backups"))
    assert kura("keys", "rotate-kek").exit_code == 0

    async def put(c: Container) -> None:
        await c.blobs.put("s/wc-W1/a", one(DATA))

    with_container(put)
    done = kura("backup")
    assert done.exit_code == 0, done.output
    [gen] = list_generations(root / "backups-keys" / "generations")
    folder = root / "backups-keys" / "generations" / gen
    assert not (folder / "keyring").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kek"]["adapter"] == "pkcs11"
    assert manifest["kek"]["ids"] == [k["id"] for k in token_keys()]

    monkeypatch.setenv("KURA_DATA_DIR", str(root / "restored"))
    monkeypatch.setenv("KURA_KEYS__KEK", "keyring")
    refused = kura("restore")
    assert refused.exit_code == 2
    assert "KURA_KEYS__KEK" in refused.output
    monkeypatch.setenv("KURA_KEYS__KEK", "pkcs11")
    restored = kura("restore")
    assert restored.exit_code == 0, restored.output

    async def get(c: Container) -> bytes:
        return await read(c, "s/wc-W1/a")

    assert with_container(get) == DATA


async def test_keks_made_within_one_second_still_sort_newest_last(hsm: dict[str, Any]) -> None:
    """Regression: two rotations in the same second (ids begin with the time) made the second
    id by counting up from a random suffix, which could loop for billions of steps."""
    from api.container import build_kek

    kek = build_kek(Settings())
    try:
        made = [await kek.rotate() for _ in range(4)]
    finally:
        await kek.close()
    assert made == sorted(made)
    assert len(set(made)) == 4
    assert sorted(k["id"] for k in token_keys()) == made
