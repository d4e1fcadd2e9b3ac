"""The erasure certificate (issue 12 §2; seed 001 §3-6, 別表3 12): what was erased, when, by
whom, which key, and until when older key backups could still decrypt encrypted copies.

Rendered by the shared renderer with the general document template. Its signature is the audit
event ``keys.destroyed`` (sequence number and keyed HMAC-SHA256 hash, which `kura audit verify`
checks) and the operator's own signature line.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from api.backup.generations import GEN_FORMAT, list_generations
from api.billing.documents import wareki
from api.config import Settings
from api.keys import scopes
from api.keys.erasure import Erased

KINDS = {
    scopes.COLLAB: "工事の情報共有データ",
    scopes.ARCHIVE: "工事の電子成果品（保管）",
    scopes.ORG: "組織のデータ",
}


def key_generations_holding(keys_root: Path | None, destroyed_at: datetime) -> list[str]:
    """Key backup generations written before the erasure (they still hold the key)."""
    if keys_root is None:
        return []
    held = []
    for gen in list_generations(keys_root / "generations"):
        try:
            when = datetime.strptime(gen[:16], GEN_FORMAT)
        except ValueError:
            continue
        if when.replace(tzinfo=destroyed_at.tzinfo) <= destroyed_at:
            held.append(gen)
    return held


def certificate_data(settings: Settings, erased: Erased, today: date) -> dict[str, Any]:
    d = erased.destroyed
    kind, owner = scopes.parse(d.scope)
    when = datetime.fromisoformat(d.destroyed_at.replace("Z", "+00:00"))
    target = settings.backup.target
    keys_root = settings.backup.keys_target or (
        target.with_name(f"{target.name}-keys") if target is not None else None
    )
    held = key_generations_holding(keys_root, when)
    keep = settings.backup.keep_keys
    if held:
        until = wareki((when + timedelta(days=keep)).date())
        backups = (
            f"鍵のバックアップ世代 {', '.join(held)} にはこの鍵が残っています。鍵のバックアップは"
            f"最新 {keep} 世代だけを保持するため、今後 {keep} 回のバックアップで削除されます"
            f"（日次バックアップの場合 {until} まで）。それ以降は、データのどのバックアップ世代に"
            "残る暗号化された複製も復号できません。"
        )
    else:
        backups = (
            "鍵のバックアップ世代にこの鍵は含まれていません。データのバックアップ世代に残る暗号化"
            "された複製は、消去の時点から復号できません。"
        )
    return {
        "title": "データ消去証明書",
        "number": f"消去証明 {d.scope} / 監査記録 {erased.event_seq}",
        "date": wareki(today),
        "parties": [
            ["発行者", "情報共有システム等運用者"],
            ["消去実施者", d.by],
        ],
        "sections": [
            {
                "heading": "1. 消去の対象",
                "fields": [
                    ["対象範囲（スコープ）", d.scope],
                    ["種別", KINDS[kind]],
                    ["対象 ID", owner],
                    ["理由", erased.reason or "—"],
                ],
            },
            {
                "heading": "2. 消去の内容",
                "fields": [
                    ["消去日時（UTC）", d.destroyed_at],
                    ["破棄した暗号鍵 ID", ", ".join(d.key_ids) or "—"],
                    ["削除したファイル数", str(erased.objects)],
                    ["破棄した途中のアップロード数", str(erased.uploads)],
                    ["削除した記録数", str(sum(erased.records.values()))],
                    ["削除した検索索引の項目数", str(erased.index)],
                ],
                "text": (
                    "方式：暗号学的消去。対象のファイルはすべて AES-256-GCM（CRYPTREC 暗号リスト"
                    "掲載）で暗号化されており、その暗号鍵の唯一の複製（鍵暗号化鍵で保護したもの）を"
                    "鍵保管庫から削除しました。暗号化されたファイル本体も削除しています。"
                    "掲示板の記事、発議書類の内容、ボンドの内容などの記録と、その検索索引の項目も"
                    "削除しました（監査記録には内容を含まないため、消去の証跡として残します）。"
                ),
            },
            {"heading": "3. バックアップについて", "text": backups},
            {
                "heading": "4. 記録",
                "fields": [
                    ["監査記録番号", str(erased.event_seq)],
                    ["監査記録ハッシュ（HMAC-SHA256）", erased.event_hash],
                    ["運用者署名", ""],
                ],
                "text": (
                    "この消去は監査記録に記録されています"
                    "（kura audit verify で改ざんを検証できます）。"
                ),
            },
        ],
        "issued_by": "Kura 情報共有システム",
        "footer": "データ消去証明書",
    }
