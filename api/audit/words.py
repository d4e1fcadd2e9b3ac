"""The audit trail in people's words (issue 8 §3 item 6): each action's Japanese name, and the
names of the people and records an event points at (a user's name, a work's title, a file's
path), resolved in one batch read per collection for a page of events.

The stored events are not changed (the chain hashes them); this is only how they are shown.
An action without a name here is shown as recorded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from storage.ports import RecordStore

ACTION_NAMES: dict[str, str] = {
    "auth.logged_in": "ログイン",
    "auth.logged_out": "ログアウト",
    "auth.login_failed": "ログイン失敗",
    "auth.locked_out": "アカウントのロック",
    "auth.password_changed": "パスワード変更",
    "auth.password_change_failed": "パスワード変更の失敗",
    "auth.token_revoked": "APIトークンの取消",
    "users.created": "利用者の登録",
    "users.updated": "利用者の変更",
    "users.disabled": "利用者の無効化",
    "users.password_reset": "パスワードの再発行",
    "grants.granted": "機能権限の付与",
    "grants.revoked": "機能権限の取消",
    "organizations.created": "機関の登録",
    "organizations.updated": "機関の変更",
    "organizations.deleted": "機関の削除",
    "offices.created": "事務所の登録",
    "offices.updated": "事務所の変更",
    "offices.deleted": "事務所の削除",
    "positions.created": "役職の登録",
    "positions.updated": "役職の変更",
    "positions.deleted": "役職の削除",
    "business_types.seeded": "業種の初期登録",
    "business_types.updated": "業種の変更",
    "works.created": "案件の登録",
    "works.updated": "案件の変更",
    "works.deleted": "案件の削除",
    "works.transitioned": "案件の状態変更",
    "works.disposed": "保存期間満了による廃棄",
    "works.hold_placed": "法的保全の設定",
    "works.hold_released": "法的保全の解除",
    "works.member_added": "メンバーの追加",
    "works.member_removed": "メンバーの削除",
    "works.member_role_changed": "メンバーの役割変更",
    "files.added": "ファイルの追加",
    "files.replaced": "ファイルの置き換え",
    "files.reingested": "ファイルの再取込",
    "files.exported": "ファイルの書き出し",
    "nodes.created": "フォルダの作成",
    "nodes.deleted": "削除",
    "uploads.completed": "アップロード完了",
    "uploads.terminated": "アップロードの中止",
    "deliverables.analysed": "電子納品チェック",
    "deliverables.imported": "電子納品の取り込み",
    "deliverables.import_rolled_back": "電子納品の取り込みの取消",
    "deliverables.received": "電子納品の受領確認",
    "deliverables.receipt_withdrawn": "受領確認の取消",
    "audit.exported": "操作履歴の書き出し",
    "mail.retried": "メールの再送",
    "jobs.retried": "処理の再実行",
    "jobs.discarded": "処理の破棄",
    "blobs.scrubbed": "保存データの検査",
    "schedules.created": "予定の登録",
    "schedules.updated": "予定の変更",
    "schedules.deleted": "予定の削除",
    "schedules.imported": "予定の取り込み",
    "schedules.occurrence_updated": "繰り返し予定の変更",
    "schedules.occurrence_cancelled": "繰り返し予定の取消",
    "schedules.feed_created": "予定配信URLの発行",
    "schedules.feed_revoked": "予定配信URLの取消",
    "proposal.submitted": "発議",
    "proposal.approved": "承認",
    "proposal.sent_back": "差戻し",
    "proposal.decided": "決裁",
    "proposal.commented": "コメント",
    "proposal.answered": "回答",
    "proposal.post_review": "後閲",
    "proposal.view_requested": "閲覧依頼",
    "proposals.deleted": "発議書類の削除",
    "proposals.form_created": "様式の登録",
    "proposals.form_revised": "様式の改訂",
    "proposals.form_activated": "様式の公開",
    "proposals.form_retired": "様式の廃止",
    "premeetings.created": "事前協議の登録",
    "premeetings.answered": "事前協議の回答",
    "premeetings.commented": "事前協議のコメント",
    "workflow.delegated": "代理承認の設定",
    "workflow.delegation_revoked": "代理承認の解除",
    "workflow.template_created": "承認経路の登録",
    "workflow.template_deleted": "承認経路の削除",
}

# Fields of a detail shown in words (the rest as recorded).
DETAIL_NAMES: dict[str, str] = {
    "work_id": "案件",
    "user_id": "利用者",
    "org_id": "機関",
    "from": "変更前",
    "to": "変更後",
    "role": "役割",
    "path": "パス",
    "name": "名前",
    "size": "サイズ",
    "counts": "件数",
    "reason": "理由",
    "grant": "権限",
    "format": "形式",
    "profile": "検査基準",
    "files": "ファイル数",
    "root_node_id": "フォルダ",
    "node_id": "ファイル",
    "ip": "接続元",
    "login_id": "ログインID",
    "mode": "方式",
    "scope": "範囲",
    "revoked_credentials": "失効した認証情報",
    "reason_code": "理由",
    "status": "状態",
    "title": "件名",
    "number": "番号",
}

# "<collection>/<id>" targets and detail ids resolved to names: collection -> (field, prefix)
_NAMED: dict[str, tuple[str, str]] = {
    "users": ("name", ""),
    "works": ("title", ""),
    "organizations": ("name", ""),
    "offices": ("name", ""),
    "nodes": ("path", ""),
    "positions": ("name", "役職 "),
    "deliverables": ("work_id", ""),
    "uploads": ("name", ""),
    "business_types": ("name", "業種 "),
}
_ID_FIELDS = {"work_id": "works", "user_id": "users", "org_id": "organizations",
              "node_id": "nodes", "root_node_id": "nodes"}  # fmt: skip


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)


def _refs(events: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = defaultdict(set)
    for ev in events:
        wanted["users"].add(str(ev.get("actor_id") or ""))
        collection, _, record_id = str(ev.get("target") or "").partition("/")
        if collection in _NAMED and record_id and record_id != "*":
            wanted[collection].add(record_id.split(":")[-1] if collection == "works" else record_id)
            if ":" in record_id and collection != "works":
                wanted[collection].add(record_id)
        for key, value in (ev.get("detail") or {}).items():
            if key in _ID_FIELDS and isinstance(value, str):
                wanted[_ID_FIELDS[key]].add(value)
    for ids in wanted.values():
        ids.discard("")
    return wanted


async def names_for(
    records: RecordStore, events: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, str], dict[str, str]]:
    """``"<collection>/<id>"`` → the name people know it by, for everything the events name;
    and the work each named node, upload or check belongs to."""
    out: dict[str, str] = {}
    work_of: dict[str, str] = {}
    wanted = _refs(events)
    work_ids: set[str] = set()
    for collection, ids in wanted.items():
        if not ids:
            continue
        field, prefix = _NAMED.get(collection, ("name", ""))
        for record in await records.get_many(collection, sorted(ids)):
            value = record.get(field)
            if record.get("work_id") and collection != "works":
                work_of[f"{collection}/{record['id']}"] = str(record["work_id"])
            if collection == "deliverables":
                work_ids.add(str(value))
                out[f"deliverables/{record['id']}"] = f"works/{value}"  # resolved below
                continue
            if value:
                out[f"{collection}/{record['id']}"] = f"{prefix}{value}"
    missing = work_ids - {k.split("/", 1)[1] for k in out if k.startswith("works/")}
    if missing:
        for record in await records.get_many("works", sorted(missing)):
            out[f"works/{record['id']}"] = str(record.get("title") or "")
    for key, value in list(out.items()):
        if key.startswith("deliverables/"):
            title = out.get(value)
            out[key] = f"{title} の電子納品チェック" if title else "電子納品チェック"
    return out, work_of


def event_words(
    event: Mapping[str, Any], names: Mapping[str, str], work_of: Mapping[str, str]
) -> dict[str, Any]:
    """What a person reads of one event: who, what, on what, and the detail as fields."""
    target = str(event.get("target") or "")
    collection, _, record_id = target.partition("/")
    target_name = names.get(target)
    if target_name is None and collection == "work_members" and ":" in record_id:
        work, _, user = record_id.partition(":")
        target_name = " / ".join(
            n for n in (names.get(f"works/{work}"), names.get(f"users/{user}")) if n
        )
    fields: list[dict[str, str]] = []
    for key, value in (event.get("detail") or {}).items():
        label = DETAIL_NAMES.get(key, key)
        if key in _ID_FIELDS and isinstance(value, str):
            text = names.get(f"{_ID_FIELDS[key]}/{value}") or value
        elif isinstance(value, dict):
            text = "、".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, list):
            text = "、".join(str(v) for v in value[:20]) + ("…" if len(value) > 20 else "")
        else:
            text = str(value)
        fields.append({"key": key, "label": label, "value": text})
    return {
        "action_name": action_name(str(event.get("action") or "")),
        "actor_name": names.get(f"users/{event.get('actor_id')}"),
        "target_name": target_name or None,
        "work_id": _work_of(event) or work_of.get(target),
        "fields": fields,
    }


def _work_of(event: Mapping[str, Any]) -> str | None:
    """The work an event is about (groups an upload's many file events into one line)."""
    detail = event.get("detail") or {}
    if isinstance(detail.get("work_id"), str):
        return str(detail["work_id"])
    collection, _, record_id = str(event.get("target") or "").partition("/")
    if collection == "works":
        return record_id
    if collection == "work_members":
        return record_id.partition(":")[0]
    return None
