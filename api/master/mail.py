"""Notification mail templates (seed 001 別表1-1 8(4): 通知メールの雛形文章).

Each template key has a fixed set of ``{placeholders}`` it may use; anything else (unknown
names, attribute or index access, format specs, conversions) is refused when the template is
saved, so rendering never evaluates more than a plain substitution. ``{{`` and ``}}`` stand
for literal braces.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TemplateKind:
    label: str
    placeholders: frozenset[str]
    subject: str
    body: str


_COMMON = frozenset({"user_name", "org_name", "system_name", "url"})

TEMPLATE_KINDS: dict[str, TemplateKind] = {
    "proposal.submitted": TemplateKind(
        "発議の通知",
        _COMMON | {"work_title", "work_number", "proposal_title", "proposer_name", "priority"},
        "[{system_name}] 発議のお知らせ: {proposal_title}",
        "{user_name} 様\n\n{proposer_name} さんから「{work_title}」について発議がありました。\n"
        "件名: {proposal_title}\n重要度: {priority}\n\n{url}\n",
    ),
    "proposal.approved": TemplateKind(
        "承認の通知",
        _COMMON | {"work_title", "work_number", "proposal_title", "approver_name"},
        "[{system_name}] 承認されました: {proposal_title}",
        "{user_name} 様\n\n{approver_name} さんが「{proposal_title}」を承認しました。\n\n{url}\n",
    ),
    "proposal.sent_back": TemplateKind(
        "差戻しの通知",
        _COMMON | {"work_title", "work_number", "proposal_title", "approver_name", "reason"},
        "[{system_name}] 差戻しされました: {proposal_title}",
        "{user_name} 様\n\n{approver_name} さんが「{proposal_title}」を差し戻しました。\n"
        "理由: {reason}\n\n{url}\n",
    ),
    # Issue 10 §2 (seed 001 別表1-1 4(15)(19)(22), 別表1-2 4(9)(11)).
    "proposal.decided": TemplateKind(
        "決裁完了の通知",
        _COMMON | {"work_title", "work_number", "proposal_title", "approver_name"},
        "[{system_name}] 決裁されました: {proposal_title}",
        "{user_name} 様\n\n「{work_title}」の「{proposal_title}」は {approver_name} さんの承認で"
        "決裁されました。\n\n{url}\n",
    ),
    "proposal.answered": TemplateKind(
        "回答の通知",
        _COMMON | {"work_title", "work_number", "proposal_title", "approver_name"},
        "[{system_name}] 回答がありました: {proposal_title}",
        "{user_name} 様\n\n{approver_name} さんが「{proposal_title}」に処理・回答を登録しました。"
        "\n\n{url}\n",
    ),
    "proposal.view_requested": TemplateKind(
        "閲覧依頼の通知",
        _COMMON | {"work_title", "work_number", "proposal_title", "proposer_name", "priority"},
        "[{system_name}] 閲覧のお願い: {proposal_title}",
        "{user_name} 様\n\n「{work_title}」の「{proposal_title}」（発議者: {proposer_name}）の"
        "閲覧をお願いします。\n重要度: {priority}\n\n{url}\n",
    ),
    "proposal.post_review": TemplateKind(
        "後閲依頼の通知",
        _COMMON | {"work_title", "work_number", "proposal_title", "approver_name"},
        "[{system_name}] 後閲のお願い: {proposal_title}",
        "{user_name} 様\n\nご不在の間に {approver_name} さんが"
        "「{proposal_title}」を先に承認しました。"
        "\n後閲をお願いします。\n\n{url}\n",
    ),
    "proposal.commented": TemplateKind(
        "発議へのコメントの通知",
        _COMMON | {"work_title", "work_number", "proposal_title", "actor_name", "comment"},
        "[{system_name}] コメント: {proposal_title}",
        "{user_name} 様\n\n{actor_name} さんが「{proposal_title}」にコメントしました。\n\n"
        "{comment}\n\n{url}\n",
    ),
    "premeeting.registered": TemplateKind(
        "事前打合せ資料の登録の通知",
        _COMMON | {"work_title", "work_number", "matter_title", "actor_name"},
        "[{system_name}] 事前打合せ資料: {matter_title}",
        "{user_name} 様\n\n「{work_title}」に {actor_name} さんが事前打合せ資料を登録しました。\n"
        "{matter_title}\n\n{url}\n",
    ),
    "premeeting.answered": TemplateKind(
        "事前打合せの回答の通知",
        _COMMON | {"work_title", "work_number", "matter_title", "actor_name"},
        "[{system_name}] 事前打合せの回答: {matter_title}",
        "{user_name} 様\n\n{actor_name} さんが事前打合せ「{matter_title}」に回答しました。"
        "\n\n{url}\n",
    ),
    "bulletin.posted": TemplateKind(
        "掲示板記事の通知",
        _COMMON | {"work_title", "work_number", "post_title", "author_name"},
        "[{system_name}] 新しい記事: {post_title}",
        "{user_name} 様\n\n「{work_title}」の掲示板に {author_name} さんが記事を登録しました。\n"
        "{post_title}\n\n{url}\n",
    ),
    "deliverables.received": TemplateKind(
        "電子納品の受領確認",
        _COMMON | {"work_title", "work_number", "receiver_name", "package"},
        "[{system_name}] 電子納品が受領確認されました: {work_title}",
        "{user_name} 様\n\n{receiver_name} さんが「{work_title}」の電子納品（{package}）を"
        "受領確認しました。\n\n{url}\n",
    ),
    # Issue 10 §4 (seed 001 §3-6: the date the collaboration data is erased is reported to
    # the supervisor in advance; 別表3 12).
    "handover.erasure_scheduled": TemplateKind(
        "情報共有データの消去日のお知らせ",
        _COMMON | {"work_title", "work_number", "erasure_on"},
        "[{system_name}] 情報共有データの消去日: {work_title}",
        "{user_name} 様\n\n「{work_title}」の情報共有システム上のデータ（書類、発議書類、掲示板"
        "など）は {erasure_on} に消去されます。消去したデータは元に戻せません。\n"
        "必要な書類は消去日までに出力してください。\n\n{url}\n",
    ),
    "handover.erasure_reminder": TemplateKind(
        "情報共有データの消去の事前通知",
        _COMMON | {"work_title", "work_number", "erasure_on"},
        "[{system_name}] まもなく情報共有データを消去します: {work_title}",
        "{user_name} 様\n\n「{work_title}」の情報共有システム上のデータは {erasure_on} に消去"
        "されます。消去したデータは元に戻せません。\n\n{url}\n",
    ),
    "bulletin.replied": TemplateKind(
        "掲示板返信の通知",
        _COMMON | {"work_title", "work_number", "post_title", "author_name", "reply_excerpt"},
        "[{system_name}] 返信: {post_title}",
        "{user_name} 様\n\n「{work_title}」の掲示板の記事「{post_title}」に {author_name} さんが"
        "返信しました。\n\n{reply_excerpt}\n\n{url}\n",
    ),
    "account.created": TemplateKind(
        "利用者IDの発行",
        _COMMON | {"login_id"},
        "[{system_name}] 利用者IDのお知らせ",
        "{user_name} 様\n\n{org_name} の利用者ID「{login_id}」を発行しました。\n"
        "初回ログイン時にパスワードを変更してください。\n\n{url}\n",
    ),
    "password.reset": TemplateKind(
        "パスワード再設定",
        _COMMON | {"login_id"},
        "[{system_name}] パスワード再設定のお知らせ",
        "{user_name} 様\n\n利用者ID「{login_id}」のパスワードを再設定しました。\n"
        "次回ログイン時に変更してください。\n\n{url}\n",
    ),
    "billing.invoice": TemplateKind(
        "利用料金のご請求",
        _COMMON | {"fiscal_year", "amount", "due_date"},
        "[{system_name}] {fiscal_year}年度 利用料金のご請求",
        "{org_name} 御中\n\n{fiscal_year}年度の利用料金 {amount} 円をご請求いたします。\n"
        "お支払期限: {due_date}\n\n{url}\n",
    ),
    # Issue 13 (seed 000 手続きフロー): notices of the billing module. No ID or password is
    # ever a placeholder (seed 001 別表3 2(1)).
    "billing.notice": TemplateKind(
        "利用手続きのお知らせ",
        _COMMON | {"title"},
        "[{system_name}] {title}",
        "{org_name} {user_name} 様\n\n{title}\n詳しくは画面でご確認ください。\n\n{url}\n",
    ),
    "billing.reminder": TemplateKind(
        "お支払いのお願い（督促）",
        _COMMON | {"title", "invoice_number", "amount", "due_date"},
        "[{system_name}] お支払いのお願い: {invoice_number}",
        "{org_name} 御中\n\n請求書 {invoice_number}（お支払期限 {due_date}）の残高 {amount} 円の"
        "お支払いを確認できておりません。\n行き違いの節はご容赦ください。\n\n{url}\n",
    ),
    "billing.ids_issued": TemplateKind(
        "利用者IDの発行（一括）",
        _COMMON | {"title", "count"},
        "[{system_name}] {title}",
        "{org_name} {user_name} 様\n\n利用者IDを {count} 件発行しました。\n"
        "IDと初期パスワードはこのメールには記載していません。権限のある方が画面で一度だけ"
        "表示できます（通信は暗号化されています）。\n\n{url}\n",
    ),
    # Issue 12 §2; seed 001 §3-6 (消去される時期 … 工事監督員に報告), 別表3 12(1)(2).
    "erasure.scheduled": TemplateKind(
        "データ消去日のお知らせ",
        _COMMON | {"target", "scope", "erasure_on", "reason"},
        "[{system_name}] データ消去日のお知らせ: {target}",
        "{user_name} 様\n\n{target} のデータは {erasure_on} に消去されます（理由: {reason}）。\n"
        "消去したデータは、バックアップを含め元に戻すことはできません。必要なデータは消去日までに"
        "出力してください。\n\n{url}\n",
    ),
    "erasure.reminder": TemplateKind(
        "データ消去の事前通知",
        _COMMON | {"target", "scope", "erasure_on", "reason"},
        "[{system_name}] まもなくデータを消去します: {target}",
        "{user_name} 様\n\n{target} のデータは {erasure_on} に消去されます（理由: {reason}）。\n"
        "消去したデータは元に戻せません。\n\n{url}\n",
    ),
}


class TemplateError(ValueError):
    """A template uses a placeholder it may not, or is malformed."""


def placeholders(text: str) -> set[str]:
    """The placeholder names in ``text``; ``TemplateError`` for anything but ``{name}``."""
    names: set[str] = set()
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError("波括弧の対応が正しくありません。") from exc
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise TemplateError(f"差込項目「{{{field}}}」の書き方が正しくありません。")
        names.add(field)
    return names


def check(key: str, subject: str, body: str) -> None:
    """Refuse placeholders the template ``key`` does not offer (naming the allowed ones)."""
    kind = TEMPLATE_KINDS[key]
    unknown = (placeholders(subject) | placeholders(body)) - kind.placeholders
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in sorted(kind.placeholders))
        bad = ", ".join("{" + p + "}" for p in sorted(unknown))
        raise TemplateError(f"使用できない差込項目があります: {bad}(使用できるもの: {allowed})")


def render_text(text: str, values: Mapping[str, object]) -> str:
    """Substitute ``{name}`` by ``values[name]`` (missing values become empty strings)."""
    out: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(text):
        out.append(literal)
        if field is not None:
            out.append(str(values.get(field, "")))
    return "".join(out)


def render(subject: str, body: str, values: Mapping[str, object]) -> tuple[str, str]:
    """The rendered subject (single line) and body."""
    rendered_subject = " ".join(render_text(subject, values).split())
    return rendered_subject, render_text(body, values)
