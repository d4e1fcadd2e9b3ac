"""The 『営業所情報入力』 screen (seed 004 第2 4).

- 4(1): offices other than the main office with contract authority, holding a licence for at
  least one of the categories applied for;
- 4(2)ア: 「営業所なし」 when there is none in the prefecture (and no contract elsewhere);
  イ: a company outside the prefecture with no office in it enters its one nearest office;
  ウ: otherwise every office in the prefecture;
- 4(4)-(7): names without the company name (「～支店」), the delegate's name with a space,
  postal code in half-width digits, address as for the main office;
- 4(8): each office's categories are a subset of those applied for (at least one);
- 4(9): EA21/ISO14005 per office, never for an office outside the prefecture, なし when the
  経審 has ISO14001 有.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.qualifications import catalog
from api.qualifications.checks import Checker, items, section, text
from api.qualifications.form import ISO_FORCED, YES_NO, Context, address_rules, is_local

MODES = ("none", "nearest", "list")
MAX_OFFICES = 100


def check_offices(values: Mapping[str, Any], ctx: Context) -> list[dict[str, Any]]:
    c = Checker("offices", ctx.today)
    offices = section(values, "offices")
    mode = text(offices, "mode")
    company = section(values, "company")
    local_offices = text(company, "local_offices")
    local = is_local(values, ctx)
    label = "営業所数"
    if not c.choice("offices.mode", label, mode, MODES):
        return c.errors
    rows = [r for r in items(offices, "items") if isinstance(r, Mapping)]
    pref = ctx.prefecture_name
    if mode == "none":
        if local_offices == "yes":
            c.add(
                "offices.mode",
                label,
                "「16 県内営業所の有無」が「あり」のため、県内の営業所を入力してください。",
            )
        return c.errors
    if mode == "nearest":
        if local:
            c.add(
                "offices.mode",
                label,
                "最寄りの営業所を入力できるのは、主たる営業所が県外にあり、"
                f"{pref}内に営業所がない場合のみです。",
            )
        elif local_offices == "yes":
            c.add(
                "offices.mode",
                label,
                "「16 県内営業所の有無」が「あり」のため、県内の営業所をすべて入力してください。",
            )
        if len(rows) != 1:
            c.add("offices.mode", label, "最寄りの営業所（1箇所）のみを入力してください。")
    if mode == "list":
        if local_offices != "yes":
            c.add(
                "offices.mode",
                label,
                f"{pref}内に営業所がある場合は「16 県内営業所の有無」を「あり」としてください。",
            )
        if not rows:
            c.add("offices.mode", label, "営業所数を入力し、営業所情報を入力してください。")
        if len(rows) > MAX_OFFICES:
            c.add("offices.mode", label, f"営業所は{MAX_OFFICES}箇所までです。")
    applied = section(section(values, "review"), "categories")
    iso = text(section(values, "review"), "iso14001") == "有"
    company_name = _bare(text(company, "name"))
    for index, row in enumerate(rows[:MAX_OFFICES]):
        _office(c, index, row, mode, ctx, applied, iso, company_name)
    return c.errors


def _bare(name: str) -> str:
    for abbreviation in catalog.ABBREVIATIONS:
        name = name.replace(abbreviation, "")
    return name.strip("\u3000")


def _office(
    c: Checker,
    index: int,
    row: Mapping[str, Any],
    mode: str,
    ctx: Context,
    applied: Mapping[str, Any],
    iso: bool,
    company_name: str,
) -> None:
    n = index + 1
    prefix = f"offices.items.{index}"
    pref = ctx.prefecture_name
    kana_label, name_label = (
        f"営業所{n} 02 営業所名称（フリガナ）",
        f"営業所{n} 03 営業所名称（漢字等）",
    )
    c.katakana(f"{prefix}.name_kana", kana_label, text(row, "name_kana"), 30)
    name = text(row, "name")
    if c.full_width(f"{prefix}.name", name_label, name, 30) and (
        company_name and company_name in name
    ):
        c.add(f"{prefix}.name", name_label, "会社名は入力せず、「～支店」等のみ入力してください。")
    c.full_width(
        f"{prefix}.rep_title", f"営業所{n} 04 営業所の受任者の役職", text(row, "rep_title"), 20
    )
    c.person_name(
        f"{prefix}.rep_name",
        f"営業所{n} 05 営業所の受任者の氏名（漢字等）",
        text(row, "rep_name"),
        20,
    )
    c.postal(f"{prefix}.postal_code", f"営業所{n} 06 郵便番号", text(row, "postal_code"))
    city = text(row, "city_code")
    city_label = f"営業所{n} 07 営業所の所在地市区町村コード"
    if c.required(f"{prefix}.city_code", city_label, city, choice=True):
        if city not in catalog.municipalities() or city.endswith("000"):
            c.add(f"{prefix}.city_code", city_label, "市区町村コードを一覧から選択してください。")
        elif mode == "list" and not ctx.in_prefecture(city):
            c.add(
                f"{prefix}.city_code",
                city_label,
                f"{pref}内の営業所のみ入力してください（県外の営業所は入力できません）。",
            )
        elif mode == "nearest" and ctx.in_prefecture(city):
            c.add(
                f"{prefix}.city_code",
                city_label,
                "最寄りの営業所には県外の営業所を入力してください。",
            )
    address_rules(c, prefix, f"営業所{n} 08 営業所の所在地（漢字等）", row, city)
    c.phone(f"{prefix}.phone", f"営業所{n} 09 電話番号", text(row, "phone"))
    c.phone(f"{prefix}.fax", f"営業所{n} 10 FAX番号", text(row, "fax"), required=False)
    c.email(f"{prefix}.email", f"営業所{n} 11 Eメールアドレス", text(row, "email"), required=False)
    if text(row, "email"):
        c.choice(
            f"{prefix}.email_kind",
            f"営業所{n} 12 Eメールアドレス区分",
            text(row, "email_kind"),
            ("company", "personal"),
        )
    label = f"営業所{n} 13 営業所が許可を受けている業種"
    chosen = [x for x in items(row, "categories") if isinstance(x, str)]
    if not chosen:
        c.add(
            f"{prefix}.categories",
            label,
            "希望ありとした業種のうち、この営業所で許可を受けている業種を1つ以上選択してください。",
        )
    extra = [x for x in chosen if x not in applied]
    if extra:
        names = "、".join(
            catalog.CATEGORY_BY_CODE[x].name if x in catalog.CATEGORY_BY_CODE else x for x in extra
        )
        c.add(
            f"{prefix}.categories", label, f"希望ありとしていない業種は選択できません（{names}）。"
        )
    label = f"営業所{n} 14 エコアクション21の認証またはISO14005取得有無"
    eco = text(row, "eco")
    if c.choice(f"{prefix}.eco", label, eco, YES_NO) and eco == "yes":
        if iso:
            c.add(f"{prefix}.eco", label, ISO_FORCED)
        elif not ctx.in_prefecture(city):
            c.add(
                f"{prefix}.eco",
                label,
                "県外の営業所では選択できません。「なし」を選択してください。",
            )
