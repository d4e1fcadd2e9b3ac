"""Auth keys (認証キー): prepared by Kura, signed by the issuer, presented by the orderer.

Seed 002 認証方式 案3 「電子署名されたパスワード」 and F01/F02: 認証キー発行 at every
registration and update; 認証キーには電子署名を付与する; 電子ファイル形式とし ダウンロード可能
とする; ボンドの内容確認は有効な認証キーを必須とする; ボンド情報更新を行った段階で以前の認証キー
では内容確認できなくなる (F01<3>, F02<3>); ボンド情報削除を行った段階で… (F01<4>, F02<2>).

1. ``prepare`` (in the unit of work of the registration or update): a payload binding the bond
   id, the revision, 256 random bits and the issue time, with a random index in a status
   list; the previous revision's key is superseded in the same transaction, so the old key
   stops working at once. The payload is stored encrypted (it holds the secret), with the
   SHA-256 of the payload and of the secret.
2. The issuer signs: ``tbs`` gives the to-be-signed file, ``kura bond sign`` signs it (PKCS#12
   or an IC card through PKCS#11) and ``accept`` takes the signed key back after checking the
   signature, the certificate (registered, chain, validity, revocation) and that the payload
   is exactly the one prepared. An issuer with a Kura-held key is signed at once.
3. The contractor downloads the key file (``download``), with a snapshot of the signed status
   list, and hands it to the orderer.
4. ``present``: the orderer's key is parsed, its certificate checked now, its signature
   verified, and the secret compared in constant time with the stored digest. A wrong secret
   and an unknown bond take the same path: the same reads, a comparison against a dummy
   digest, the same counters and the same audit write (bench/bond_keys.py measures it).
   Every attempt, good or bad, is audited; failures count against the user and the bond.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from api.audit.service import AuditLog
from api.bonds import status as status_lists
from api.bonds.balances import find_all
from api.bonds.certificates import CertificateService, kura_keys
from api.bonds.envelope import (
    KEY_TYP,
    TBS_TYPE,
    EnvelopeError,
    Parsed,
    b64u,
    canonical,
    keyfile,
    parse_compact,
    read_keyfile,
    sign_compact,
    unb64u,
    verify,
)
from api.bonds.models import (
    BONDS,
    CERTIFICATES,
    KEY_FILES,
    KEYS,
    BondState,
    KeyState,
    key_id,
    target,
)
from api.bonds.pki import CertificateRejected
from api.bonds.throttle import KeyThrottle
from api.errors import Conflict, KuraError, TooManyRequests, ValidationFailed
from api.kit.clock import from_iso, to_iso
from api.kit.ids import is_id
from api.kit.uow import UnitOfWork
from api.permissions.policy import Subject
from storage.errors import DuplicateKey
from storage.query import Eq, In, Query, Record

if TYPE_CHECKING:
    from api.container import Container

STATUS_URL = "/api/v1/bonds/status/{list}"
SECRET_BYTES = 32  # 256 bits (issue 11 §2: at least 256)
_DUMMY = hashlib.sha256(b"kura-bond-dummy-secret").hexdigest()
_DEAD = (KeyState.SUPERSEDED.value, KeyState.REVOKED.value)


class KeyRefused(KuraError):
    """A presented key does not open the bond. The message says why only as far as the
    key itself already tells its holder."""

    status = 400
    code = "key_refused"
    title = "認証キーを確認できませんでした。"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Presented:
    """A key that verified: its claims, the bond and the key record."""

    claims: dict[str, Any]
    bond: Record
    key: Record
    certificate: Record


class KeyService:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.records = container.records
        self.clock = container.clock
        self.audit = AuditLog(container.records, container.clock)
        self.certs = CertificateService(container)
        cfg = container.settings.bonds
        self.throttle = KeyThrottle(
            container.records,
            cfg.attempts_per_user,
            cfg.attempts_per_bond,
            timedelta(minutes=cfg.attempt_window_minutes),
        )

    # 1. prepare ---------------------------------------------------------------------------------
    async def _status_slot(self) -> tuple[str, int]:
        """A random free index in the current list (W3C: random, not in issue order)."""
        list_no = 1
        while await self.records.count(KEYS, (Eq("status_list", str(list_no)),)) >= (
            status_lists.SIZE // 2
        ):
            list_no += 1
        return str(list_no), secrets.randbelow(status_lists.SIZE)

    async def prepare(self, uow: UnitOfWork, bond: Record) -> Record:
        """The key of the bond's current revision (inside the caller's unit of work);
        supersedes the previous revision's key."""
        now = self.clock.now()
        await self.close_previous(bond, KeyState.SUPERSEDED)
        custody = await self.certs.custody_of(str(bond["issuer_org_id"]))
        secret = secrets.token_bytes(SECRET_BYTES)
        for _ in range(20):
            list_no, index = await self._status_slot()
            claims = {
                "typ": "kura-bond-key",
                "bond_id": bond["id"],
                "revision": int(bond["revision"]),
                "certificate_no": str(bond["contents"]["certificate_no"]),
                "kind": bond["kind"],
                "issuer_org_id": bond["issuer_org_id"],
                "issuer_name": bond.get("issuer_name") or "",
                "obligor_name": bond.get("obligor_name") or "",
                "obligee_name": bond.get("obligee_name") or "",
                "secret": b64u(secret),
                "iat": int(now.timestamp()),
                "issued_at": to_iso(now),
                "status": {
                    "list": list_no,
                    "index": index,
                    "url": STATUS_URL.format(list=list_no),
                },
                "custody": "kura" if custody else "issuer",
            }
            payload = canonical(claims)
            record: Record = {
                "id": key_id(bond["id"], int(bond["revision"])),
                "bond_id": bond["id"],
                "revision": int(bond["revision"]),
                "issuer_org_id": bond["issuer_org_id"],
                "state": KeyState.AWAITING_SIGNATURE.value,
                "payload_digest": digest(payload),
                "secret_digest": digest(secret),
                "status_list": list_no,
                "status_index": index,
                "prepared_at": to_iso(now),
                "custody": claims["custody"],
            }
            # What holds the secret (the payload, the signed key) lives apart, encrypted, so
            # the records read at every presentation are small and alike (module doc, 4.).
            files: Record = {
                "id": record["id"],
                "payload": kura_keys(self.container).seal(payload, f"payload:{bond['id']}"),
            }
            if custody is not None:
                token = sign_compact({"typ": KEY_TYP}, payload, self.certs.custody_signer(custody))
                record.update(
                    state=KeyState.ACTIVE.value, cert_id=custody["id"], signed_at=to_iso(now)
                )
                files["token"] = kura_keys(self.container).seal(token.encode(), f"key:{bond['id']}")
            try:
                stored = await uow.records.insert(KEYS, record)
            except DuplicateKey:
                continue  # the random index was taken: draw again
            await uow.records.insert(KEY_FILES, files)
            return stored
        raise Conflict("認証キーの準備に失敗しました。もう一度やり直してください。")

    async def close_previous(self, bond: Record, state: KeyState) -> None:
        """Supersede (update) or revoke (deletion) every live key of the bond's earlier
        revisions, at once (F01<3>, F01<4>)."""
        now = to_iso(self.clock.now())
        for item in await self._keys_of(bond["id"]):
            if item["state"] in _DEAD:
                continue
            if state is KeyState.SUPERSEDED and item["revision"] >= bond["revision"]:
                continue
            await self.records.update(
                KEYS, item["id"], {"state": state.value, "closed_at": now}, item["version"]
            )
        self.container_status_changed()

    async def _keys_of(self, bond_id: str) -> list[Record]:
        page = await self.records.find(
            KEYS, Query(where=(Eq("bond_id", bond_id),), sort=(("revision", 1),), limit=1000)
        )
        return page.items

    def container_status_changed(self) -> None:
        _published.clear()

    # 2. the issuer signs --------------------------------------------------------------------------
    async def current(self, bond: Record) -> Record | None:
        return await self.records.get(KEYS, key_id(bond["id"], int(bond["revision"])))

    async def _files(self, key: Record) -> Record:
        files = await self.records.get(KEY_FILES, key["id"])
        if files is None:
            raise Conflict("認証キーのデータが見つかりません。ボンドを更新して再発行してください。")
        return files

    async def tbs(self, bond: Record, key: Record) -> dict[str, Any]:
        """The to-be-signed file: what ``kura bond sign`` signs."""
        if key["state"] != KeyState.AWAITING_SIGNATURE:
            raise Conflict("この認証キーはすでに署名されています。")
        files = await self._files(key)
        payload = kura_keys(self.container).open(files["payload"], f"payload:{bond['id']}")
        return {
            "type": TBS_TYPE,
            "format": 1,
            "bond_id": bond["id"],
            "revision": key["revision"],
            "certificate_no": bond["contents"]["certificate_no"],
            "header": {"typ": KEY_TYP},
            "payload": b64u(payload),
            "payload_sha256": key["payload_digest"],
            "prepared_at": key["prepared_at"],
        }

    async def accept(self, subject: Subject, bond: Record, text: str) -> Record:
        """Take the issuer's signed key for the current revision."""
        key = await self.current(bond)
        if key is None or key["state"] != KeyState.AWAITING_SIGNATURE:
            raise Conflict("署名を待っている認証キーはありません。")
        try:
            token, _ = read_keyfile(text)
            parsed = parse_compact(token)
            usable = await self.certs.usable(str(parsed.header.get("kid")), bond["issuer_org_id"])
            if not parsed.chain or parsed.chain[0] != usable.validation.chain[0]:
                raise EnvelopeError("bad_signature", "署名した証明書が登録と一致しません。")
            verify(parsed, usable.validation.chain[0].public_key())
        except (EnvelopeError, CertificateRejected) as exc:
            raise ValidationFailed(exc.message, reason=exc.code) from exc
        if not hmac.compare_digest(digest(parsed.payload), str(key["payload_digest"])):
            raise ValidationFailed(
                "署名された内容が、準備した認証キーと一致しません。最新の署名用ファイルで署名してください。",
                reason="payload_mismatch",
            )
        now = to_iso(self.clock.now())
        async with self.container.uow():
            stored = await self.records.update(
                KEYS,
                key["id"],
                {"state": KeyState.ACTIVE.value, "cert_id": usable.record["id"], "signed_at": now},
                key["version"],
            )
            files = await self._files(key)
            await self.records.update(
                KEY_FILES,
                key["id"],
                {"token": kura_keys(self.container).seal(token.encode(), f"key:{bond['id']}")},
                files["version"],
            )
            fresh = await self.records.get(BONDS, bond["id"])
            if fresh is None or int(fresh["revision"]) != int(key["revision"]):
                raise Conflict("ボンドが更新されました。最新の署名用ファイルで署名してください。")
            await self.records.update(
                BONDS, bond["id"], {"key_state": KeyState.ACTIVE.value}, fresh["version"]
            )
            await self.audit.record(
                subject,
                "bonds.key_signed",
                target(bond["id"]),
                detail={
                    "org_id": bond["issuer_org_id"],
                    "revision": key["revision"],
                    "certificate": usable.record["id"],
                },
            )
        return stored

    # 3. download ---------------------------------------------------------------------------
    async def keyfile_text(self, bond: Record) -> str:
        key = await self.current(bond)
        if bond["state"] != BondState.ACTIVE or key is None or key["state"] != KeyState.ACTIVE:
            raise Conflict("認証キーはまだ発行されていません（発行機関の署名待ち）。")
        files = await self._files(key)
        token = kura_keys(self.container).open(files["token"], f"key:{bond['id']}").decode()
        return keyfile(token, await self.status_token(str(key["status_list"])))

    async def status_token(self, list_no: str) -> str:
        """The signed status list ``list_no`` (rebuilt when a key closes in this process, or
        after a minute: other processes' changes show within that)."""
        now = self.clock.now()
        cached = _published.get(list_no)
        if cached and 0 <= (now - cached[0]).total_seconds() < 60:
            return cached[1]
        revoked = [
            int(r["status_index"])
            async for r in find_all(
                self.records,
                KEYS,
                (Eq("status_list", list_no), In("state", _DEAD)),
                (("status_list", 1), ("state", 1)),
            )
        ]
        token = kura_keys(self.container).sign_status(
            status_lists.claims(
                list_no,
                STATUS_URL.format(list=list_no),
                revoked,
                now,
                self.container.settings.bonds.status_ttl_s,
            )
        )
        _published[list_no] = (now, token)
        return token

    # 4. presentation ----------------------------------------------------------------------------
    async def present(self, subject: Subject, text: str, bond_id: str | None) -> Presented:
        """Verify a key for ``subject`` (the caller checked the right to present keys)."""
        now = self.clock.now()
        if await self.throttle.blocked("user", subject.user_id, now):
            await self._refused(subject, "unknown", "throttled_user")
            raise TooManyRequests(
                "認証キーの確認に続けて失敗したため、しばらく確認できません。時間をおいてやり直してください。"
            )
        try:
            parsed, claims = self._parse(text)
        except EnvelopeError as exc:
            await self._failed(subject, "unknown", exc.code, now)
            raise KeyRefused(exc.message, reason=exc.code) from exc
        claimed = str(claims["bond_id"])
        if bond_id is not None and claimed != bond_id:
            await self._failed(subject, claimed, "other_bond", now)
            raise KeyRefused("この認証キーは別のボンドのものです。", reason="other_bond")
        # Every read at once, the same ones whether the bond exists or not.
        kid = str(parsed.header.get("kid"))
        blocked, cert, key, bond = await asyncio.gather(
            self.throttle.blocked("bond", claimed, now),
            self.records.get(CERTIFICATES, kid) if len(kid) == 64 else _none(),
            self.records.get(KEYS, key_id(claimed, int(claims["revision"]))),
            self.records.get(BONDS, claimed),
        )
        if blocked:
            await self._refused(subject, claimed, "throttled_bond")
            raise TooManyRequests(
                "このボンドへの認証キーの確認に失敗が続いたため、しばらく確認できません。"
            )
        try:
            usable = await self.certs.usable(
                kid, str(claims.get("issuer_org_id")), cert or {"id": ""}
            )
            if not parsed.chain or parsed.chain[0] != usable.validation.chain[0]:
                raise EnvelopeError("bad_signature", "認証キーの電子署名を確認できません。")
            verify(parsed, usable.validation.chain[0].public_key())
        except (EnvelopeError, CertificateRejected) as exc:
            await self._failed(subject, claimed, exc.code, now)
            raise KeyRefused(exc.message, reason=exc.code) from exc
        # The same comparison whether the bond exists or not.
        stored_secret = str(key["secret_digest"]) if key else _DUMMY
        stored_payload = str(key["payload_digest"]) if key else _DUMMY
        secret_ok = hmac.compare_digest(digest(unb64u(str(claims["secret"]))), stored_secret)
        payload_ok = hmac.compare_digest(digest(parsed.payload), stored_payload)
        if not (secret_ok & payload_ok & (key is not None) & (bond is not None)):
            await self._failed(subject, claimed, "mismatch", now)
            raise KeyRefused(reason="mismatch")
        assert key is not None
        assert bond is not None
        if key["state"] == KeyState.SUPERSEDED:
            await self._failed(subject, claimed, "superseded", now)
            raise KeyRefused(
                "この認証キーはボンドの更新により無効になりました。最新の認証キーを受け取ってください。",
                reason="superseded",
            )
        if key["state"] == KeyState.REVOKED or bond["state"] != BondState.ACTIVE:
            await self._failed(subject, claimed, "revoked", now)
            raise KeyRefused("このボンドは削除されたため、認証キーは無効です。", reason="revoked")
        if key["state"] != KeyState.ACTIVE or key.get("cert_id") != usable.record["id"]:
            await self._failed(subject, claimed, "mismatch", now)
            raise KeyRefused(reason="mismatch")
        return Presented(claims, bond, key, usable.record)

    def _parse(self, text: str) -> tuple[Parsed, dict[str, Any]]:
        token, _ = read_keyfile(text)
        parsed = parse_compact(token)
        claims = parsed.claims
        ok = (
            claims.get("typ") == "kura-bond-key"
            and isinstance(claims.get("bond_id"), str)
            and is_id(claims["bond_id"])
            and isinstance(claims.get("revision"), int)
            and 1 <= claims["revision"] < 10**6
            and isinstance(claims.get("secret"), str)
            and len(claims["secret"]) == 43
            and isinstance(claims.get("issued_at"), str)
        )
        if not ok:
            raise EnvelopeError("malformed", "認証キーの形式が正しくありません。")
        return parsed, claims

    async def _failed(self, subject: Subject, bond_id: str, reason: str, now: datetime) -> None:
        await self.throttle.failed("user", subject.user_id, now)
        if bond_id != "unknown":
            await self.throttle.failed("bond", bond_id, now)
        await self._refused(subject, bond_id, reason)

    async def _refused(self, subject: Subject, bond_id: str, reason: str) -> None:
        # ``org_id`` names the event's organization, so the audit scope never reads the
        # bond: an unknown bond and a known one cost the same.
        async with self.container.uow():
            await self.audit.record(
                subject,
                "bonds.key_refused",
                target(bond_id),
                detail={"org_id": subject.org_id, "reason": reason},
            )

    async def presented(self, subject: Subject, found: Presented, result: str) -> None:
        async with self.container.uow():
            await self.audit.record(
                subject,
                "bonds.key_presented",
                target(found.bond["id"]),
                detail={
                    "org_id": subject.org_id,
                    "result": result,
                    "revision": found.key["revision"],
                },
            )


_published: dict[str, tuple[datetime, str]] = {}


async def _none() -> None:
    return None


def issued_at(claims: dict[str, Any]) -> datetime:
    try:
        return from_iso(str(claims["issued_at"]))
    except ValueError:
        return datetime.fromtimestamp(int(claims.get("iat", 0)), UTC)


def payload_of(tbs: dict[str, Any]) -> bytes:
    """The payload bytes of a to-be-signed file (``kura bond sign``)."""
    if not isinstance(tbs, dict) or tbs.get("type") != TBS_TYPE:
        raise EnvelopeError("wrong_type", "署名用ファイルではありません。")
    payload = unb64u(str(tbs.get("payload", "")))
    if digest(payload) != tbs.get("payload_sha256"):
        raise EnvelopeError("malformed", "署名用ファイルが壊れています。")
    json.loads(payload)
    return payload
