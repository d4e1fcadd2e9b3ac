"""The 『当初・申請内容入力』 screen (seed 004 第2 3): targets, company data, point items and
the 経審 data, checked as the guide says. Offices (第2 4) and the attachment (第2 5) are
checked in ``offices`` and ``attachment``; ``check_all`` runs every step.

Rules and their clauses:
- targets: 第2 2(1) (提出先自治体一覧; only the round's targets: 第1 1, 広島市を除く);
- 01-09: 第2 3(1)-(6) (法人番号 13けた with its check digit; フリガナ 全角カタカナ without
  「株式会社」; 略号 before or after the name; 市区町村コード from the list; address with
  hyphens for 丁目・番・号, full-width digits, no municipality name, building on its own line);
- 10-11: 第2 3(7)(8) (許可番号 半角数字; the former number only when changed since 2013-11-01);
- 12-18: 第2 3(9)-(14);
- 19-30, 34: 第2 3(15)-(26), (30) (22, 29, 30 only for companies whose main office is in the
  prefecture; 27 forced to なし when the 経審 has ISO14001 有; 34 only with 造園工事);
- 31-33: 第2 3(27)-(29) with 第1 4(1)イ-オ (base categories, average completed work) and
  第1 5 (審査基準日 from the round's date; 保険 「無」 blocks electronic filing, ※4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from api.organizations.service import corporate_number_valid
from api.qualifications import catalog, widths
from api.qualifications.checks import Checker, items, section, text

YES_NO = ("yes", "no")
INSURANCE = ("有", "無", "適用除外")
ECO = ("none", "ea21", "iso14005")
COOPERATING = ("none", "employer", "rehabilitation", "both")
PERMIT_KINDS = ("general", "special")  # 一般 / 特定
KENCHIKU_CPD = (
    ("arch1", "1級建築士"),
    ("arch2", "2級建築士"),
    ("wood", "木造建築士"),
    ("equipment", "建築設備士"),
    ("builder1", "1級建築施工管理技士"),
    ("builder2", "2級建築施工管理技士"),
)
FORMER_SINCE = date(2013, 11, 1)  # 第2 3(8)ア 平成25年11月1日以降
STEPS = ("entry", "offices", "attachment")


@dataclass(frozen=True)
class Context:
    """What the checks need besides the values: the round and today (JST)."""

    prefecture: str  # "34"
    targets: Mapping[str, str]  # code → name of the round's targets
    review_base_from: date
    today: date

    def in_prefecture(self, city_code: str) -> bool:
        return city_code[:2] == self.prefecture

    @property
    def prefecture_name(self) -> str:
        return catalog.prefecture_name(self.prefecture)


def is_local(values: Mapping[str, Any], ctx: Context) -> bool:
    """県内業者: the main office (item 08) is in the round's prefecture (第1 2(1) ※)."""
    return ctx.in_prefecture(text(section(values, "company"), "city_code"))


def check_entry(values: Mapping[str, Any], ctx: Context) -> list[dict[str, Any]]:
    c = Checker("entry", ctx.today)
    _targets(c, values, ctx)
    _company(c, section(values, "company"), ctx)
    review = section(values, "review")
    _points(c, section(values, "points"), values, ctx)
    _review(c, review, ctx)
    return c.errors


def _targets(c: Checker, values: Mapping[str, Any], ctx: Context) -> None:
    chosen = [t for t in items(values, "targets") if isinstance(t, str)]
    label = "提出先自治体"
    if not chosen:
        c.add("targets", label, "提出先自治体を1つ以上選択してください。")
        return
    unknown = [t for t in chosen if t not in ctx.targets]
    if unknown:
        names = "、".join(
            catalog.municipalities()[t].name if t in catalog.municipalities() else t
            for t in unknown
        )
        c.add("targets", label, f"このシステムで申請できない自治体が含まれています（{names}）。")
    if len(set(chosen)) != len(chosen):
        c.add("targets", label, "同じ自治体が重複しています。")
    no_tax = [t for t in items(values, "no_tax") if isinstance(t, str)]
    if any(t not in chosen for t in no_tax):
        c.add("no_tax", "納税義務のない自治体", "申請先として選択した自治体から選んでください。")


def _company(c: Checker, co: Mapping[str, Any], ctx: Context) -> None:
    kind = text(co, "kind")
    c.choice("company.kind", "01 法人・個人の区分", kind, ("corporation", "individual"))
    number = text(co, "corporate_number")
    label = "02 法人番号"
    if kind == "corporation":
        if c.required("company.corporate_number", label, number):
            if not widths.is_half_digits(number) or len(number) != 13:
                converted = widths.to_half_width_digits(number)
                c.add(
                    "company.corporate_number",
                    label,
                    "法人番号は半角数字13けたで入力してください。",
                    converted if widths.is_half_digits(converted) else None,
                )
            elif not corporate_number_valid(number):
                c.add(
                    "company.corporate_number",
                    label,
                    "法人番号が正しくありません（検査用数字が一致しません）。",
                )
    elif kind == "individual" and number:
        c.add("company.corporate_number", label, "個人の場合は法人番号を入力しないでください。")

    kana = text(co, "name_kana")
    label = "03 商号又は名称（フリガナ）"
    if c.katakana("company.name_kana", label, kana, 50) and any(
        r in kana.replace("\u3000", "") for r in catalog.LEGAL_FORM_READINGS
    ):
        c.add(
            "company.name_kana",
            label,
            "「株式会社」等の法人の種類を表す文字は入力しないでください。",
        )
    _company_name(c, text(co, "name"), kind)
    c.full_width("company.rep_title", "05 代表者役職", text(co, "rep_title"), 20)
    c.person_name("company.rep_name", "06 代表者氏名", text(co, "rep_name"), 20)
    c.postal("company.postal_code", "07 郵便番号", text(co, "postal_code"))
    city = text(co, "city_code")
    city_label = "08 主たる営業所の所在地市区町村コード"
    if c.required("company.city_code", city_label, city, choice=True) and (
        city not in catalog.municipalities() or city.endswith("000")
    ):
        c.add(
            "company.city_code",
            "08 主たる営業所の所在地市区町村コード",
            "市区町村コードを一覧から選択してください。",
        )
    address_rules(c, "company", "09 主たる営業所の所在地（漢字等）", co, city)

    permit = section(co, "permit")
    permit_rules(c, "company.permit", "10 現在の建設業の許可番号", permit)
    c.day("company.permit.date", "10 許可年月日", text(permit, "date"))
    former = section(co, "former_permit")
    if any(text(former, k) for k in ("authority", "number", "changed_on")):
        label = "11 （旧）建設業の許可番号"
        permit_rules(c, "company.former_permit", label, former)
        changed = c.day(
            "company.former_permit.changed_on", "11 許可番号の変更日", text(former, "changed_on")
        )
        if changed is not None and changed < FORMER_SINCE:
            c.add(
                "company.former_permit.changed_on",
                "11 許可番号の変更日",
                "平成25年11月1日より前の変更による旧許可番号は入力しないでください。",
            )
        if text(former, "authority") == text(permit, "authority") and text(
            former, "number"
        ) == text(permit, "number"):
            c.add("company.former_permit.number", label, "変更がない場合は入力しないでください。")
    c.phone("company.phone", "12 主たる営業所の電話番号", text(co, "phone"))
    c.phone("company.fax", "13 FAX番号", text(co, "fax"), required=False)
    c.email("company.email", "14 Eメールアドレス", text(co, "email"))
    c.choice(
        "company.email_kind",
        "15 Eメールアドレス区分",
        text(co, "email_kind"),
        ("company", "personal"),
    )
    c.choice("company.local_offices", "16 県内営業所の有無", text(co, "local_offices"), YES_NO)
    c.choice(
        "company.kensaibou", "17 建設業労働災害防止協会加入の有無", text(co, "kensaibou"), YES_NO
    )
    contact = section(co, "contact")
    c.full_width(
        "company.contact.department",
        "18 申請事務担当者（所属部署名）",
        text(contact, "department"),
        30,
    )
    c.person_name("company.contact.name", "18 申請事務担当者（氏名）", text(contact, "name"), 20)
    c.phone("company.contact.phone", "18 申請事務担当者（電話番号）", text(contact, "phone"))
    c.phone(
        "company.contact.fax", "18 申請事務担当者（FAX番号）", text(contact, "fax"), required=False
    )
    c.email("company.contact.email", "18 申請事務担当者（Eメールアドレス）", text(contact, "email"))


def _company_name(c: Checker, name: str, kind: str) -> None:
    """04: 全角50文字以内; the kind of company only as a 略号, before or after (第2 3(4))."""
    path, label = "company.name", "04 商号又は名称（漢字等）"
    if not c.full_width(path, label, name, 50):
        return
    for spelled, abbreviation in catalog.LEGAL_FORMS:
        if spelled in name:
            c.add(
                path,
                label,
                f"法人の種類は略号を用いて入力してください（「{spelled}」は「{abbreviation}」）。",
                name.replace(spelled, abbreviation),
            )
            return
    found = [a for a in catalog.ABBREVIATIONS if a in name]
    if found and kind == "individual":
        c.add(path, label, "個人の場合は法人の種類の略号を入力しないでください。")
        return
    for abbreviation in found:
        if not (name.startswith(abbreviation) or name.endswith(abbreviation)):
            c.add(path, label, "略号は商号又は名称の前又は後に入力してください。")
            return
        if name == abbreviation:
            c.add(path, label, "商号又は名称を入力してください。")
            return


def permit_rules(c: Checker, prefix: str, label: str, permit: Mapping[str, Any]) -> None:
    """〈大臣・知事コード〉 from the list, 〈許可番号〉 in half-width digits (第2 3(7)ア)."""
    codes = tuple(code for code, _ in catalog.authorities())
    c.choice(
        f"{prefix}.authority", f"{label}（大臣・知事コード）", text(permit, "authority"), codes
    )
    c.digits(
        f"{prefix}.number",
        f"{label}（許可番号）",
        text(permit, "number"),
        required=True,
        max_digits=6,
        message="許可番号は半角数字6けた以内で入力してください。",
    )


def address_rules(
    c: Checker, prefix: str, label: str, values: Mapping[str, Any], city_code: str
) -> None:
    """第2 3(6): 丁目・番・号 as hyphens, digits full-width, no municipality name (chosen in
    the code), building name on its own line."""
    path = f"{prefix}.address"
    address = text(values, "address")
    if c.full_width(path, label, address, 50):
        town = catalog.municipalities().get(city_code)
        if town is not None and (
            address.startswith(town.prefecture) or address.startswith(town.name)
        ):
            c.add(
                path,
                label,
                f"「{town.full_name}」は市区町村コードで選択済みのため入力しないでください。",
            )
        elif _has_numbered_unit(address):
            c.add(
                path,
                label,
                "「丁目」「番」及び「号」は「－」（ハイフン）を用いて入力してください。",
                _hyphenate(address),
            )
    c.full_width(
        f"{prefix}.building", f"{label}（ビル名等）", text(values, "building"), 50, required=False
    )


_DIGITS = "０１２３４５６７８９〇一二三四五六七八九十"
_UNIT = re.compile(f"([{_DIGITS}])(丁目|番地|番|号)")


def _has_numbered_unit(address: str) -> bool:
    return bool(_UNIT.search(address))


def _hyphenate(address: str) -> str:
    """基町１０番５２号 → 基町１０－５２ (the form the guide shows, 第2 3(6))."""
    out = _UNIT.sub(lambda m: m.group(1) + "－", address)
    return out[:-1] if out.endswith("－") else out


def _points(c: Checker, p: Mapping[str, Any], values: Mapping[str, Any], ctx: Context) -> None:
    local = is_local(values, ctx)
    c.digits("points.cpds_units", "19 土木施工CPDS学習単位数", text(p, "cpds_units"), max_digits=5)
    cpd = section(p, "kenchiku_cpd")
    for key, name in KENCHIKU_CPD:
        c.digits(
            f"points.kenchiku_cpd.{key}",
            f"20 建築CPD認定時間数（{name}）",
            text(cpd, key),
            max_digits=5,
        )
    c.digits(
        "points.zouen_cpd_units", "21 造園CPD学習単位数", text(p, "zouen_cpd_units"), max_digits=5
    )
    local_only = (
        ("points.disability", "22 障害者雇用の状況", "disability"),
        ("points.fire_brigade", "29 消防団協力事業所の認定有無", "fire_brigade"),
    )
    for path, label, key in local_only:
        if c.choice(path, label, text(p, key), YES_NO) and text(p, key) == "yes" and not local:
            c.add(path, label, _LOCAL_ONLY)
    for path, label, key in (
        ("points.disaster", "23 地域防災活動への貢献認定有無", "disaster"),
        ("points.adopt", "24 社会資本維持管理活動への貢献認定有無", "adopt"),
        ("points.family_support", "25 広島県仕事と家庭の両立支援企業の登録有無", "family_support"),
        ("points.work_style", "26 広島県働き方改革実践企業認定制度の登録有無", "work_style"),
    ):
        c.choice(path, label, text(p, key), YES_NO)
    label = "27 エコアクション21の認証またはISO14005の取得有無"
    eco = text(p, "eco")
    iso = text(section(values, "review"), "iso14001") == "有"
    if c.choice("points.eco", label, eco, ECO) and eco != "none":
        if iso:
            c.add("points.eco", label, ISO_FORCED)
        elif not local and text(section(values, "company"), "local_offices") != "yes":
            c.add(
                "points.eco",
                label,
                f"{ctx.prefecture_name}内の営業所等が認証を受けている場合のみ選択できます。",
            )
        c.day(
            "points.eco_date",
            "28 エコアクション21の認証またはISO14005取得年月日",
            text(p, "eco_date"),
        )
    label = "30 協力雇用主の登録または暴力団離脱者社会復帰支援事業協力事業所の登録有無"
    coop = text(p, "cooperating")
    if c.choice("points.cooperating", label, coop, COOPERATING) and coop != "none" and not local:
        c.add("points.cooperating", label, _LOCAL_ONLY)
    label = "34 街路樹剪定士資格を有する者の有無"
    tree = text(p, "street_tree")
    categories = section(section(values, "review"), "categories")
    if (
        c.choice("points.street_tree", label, tree, YES_NO)
        and tree == "yes"
        and catalog.ZOUEN not in categories
    ):
        c.add("points.street_tree", label, "造園工事を希望する場合のみ「あり」を選択できます。")


_LOCAL_ONLY = "県外に主たる営業所がある場合は選択できません。「なし」を選択してください。"
ISO_FORCED = (
    "経営事項審査の総合評定値通知書でISO14001の登録が「有」のため、評価は行いません。"
    "「なし」を選択してください。"
)


def _review(c: Checker, r: Mapping[str, Any], ctx: Context) -> None:
    permit = section(r, "permit")
    if text(permit, "authority") or text(permit, "number"):
        permit_rules(c, "review.permit", "31 経営事項審査申請書記載の許可番号", permit)
    label = "32 提出する経営事項審査申請書の審査基準日"
    base = c.day("review.base_date", label, text(r, "base_date"))
    if base is not None and base < ctx.review_base_from:
        c.add(
            "review.base_date",
            label,
            f"審査基準日が{_wareki(ctx.review_base_from)}以降の経営事項審査を使用してください。",
        )
    insurance = section(r, "insurance")
    for key, name in (
        ("employment", "雇用保険"),
        ("health", "健康保険"),
        ("pension", "厚生年金保険"),
    ):
        path, lbl = f"review.insurance.{key}", f"経営事項審査 {name}加入の有無"
        if c.choice(path, lbl, text(insurance, key), INSURANCE) and text(insurance, key) == "無":
            c.add(
                path,
                lbl,
                "経営事項審査の総合評定値通知書で保険の加入が「無」となっている場合は、"
                "電子申請できません。入札参加資格申請問合せ窓口へ御相談ください。",
            )
    c.choice(
        "review.iso14001", "経営事項審査 ISO14001の登録の有無", text(r, "iso14001"), ("有", "無")
    )
    categories = section(r, "categories")
    label = "33 入札参加資格の審査を希望する業種"
    chosen = [code for code in categories if code in catalog.CATEGORY_BY_CODE]
    if not chosen:
        c.add("review.categories", label, "希望する業種を1つ以上選択してください。")
    for code in categories:
        if code not in catalog.CATEGORY_BY_CODE:
            c.add("review.categories", label, "一覧にない業種が含まれています。")
            continue
        category = catalog.CATEGORY_BY_CODE[code]
        if category.base and category.base not in categories:
            base_name = catalog.CATEGORY_BY_CODE[category.base].name
            c.add(
                f"review.categories.{code}",
                f"33 {category.name}",
                f"{category.name}を希望する場合は、{base_name}も希望してください。",
            )
        row = section(categories, code)
        prefix = f"review.categories.{code}"
        name = category.name
        c.choice(
            f"{prefix}.permit_kind",
            f"33 {name}（許可区分）",
            text(row, "permit_kind"),
            PERMIT_KINDS,
        )
        c.digits(
            f"{prefix}.p", f"33 {name}（総合評点P）", text(row, "p"), required=True, max_digits=4
        )
        for key, what in (
            ("staff1", "一級技術職員数"),
            ("staff2", "二級技術職員数"),
            ("staff_other", "その他技術職員数"),
        ):
            c.digits(
                f"{prefix}.{key}",
                f"33 {name}（{what}）",
                text(row, key),
                required=True,
                max_digits=5,
            )
        average = c.digits(
            f"{prefix}.average",
            f"33 {name}（平均完成工事高）",
            text(row, "average"),
            required=True,
            max_digits=12,
        )
        if average == 0:
            c.add(
                f"{prefix}.average",
                f"33 {name}（平均完成工事高）",
                "年間平均完成工事高がない業種は申請できません。",
            )


def _wareki(d: date) -> str:
    if d >= date(2019, 5, 1):
        return f"令和{d.year - 2018}年{d.month}月{d.day}日"
    return f"平成{d.year - 1988}年{d.month}月{d.day}日"
