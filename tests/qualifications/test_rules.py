"""The guide's rules, one by one, on the pure checks (seed 004; each test names its clause).
Expected values come from the guide's own examples, python-stdnum (法人番号) and hand sums."""

from __future__ import annotations

import copy
import random
from datetime import UTC, date, datetime
from typing import Any

import pytest
from stdnum.jp import cn

from api.master.calendar import BusinessCalendar
from api.qualifications import catalog, widths
from api.qualifications.attachment import check_attachment
from api.qualifications.drafts import check_all
from api.qualifications.form import Context, check_entry
from api.qualifications.offices import check_offices
from api.qualifications.papers import common_papers
from api.qualifications.reviews import ImportError_, mismatches, p_score, parse, read_table
from api.qualifications.windows import JST, window
from tests.qualifications.harness import REVIEW_ROWS, review_csv, valid_values

TODAY = date(2018, 11, 5)
CTX = Context(
    prefecture="34",
    targets={"34000": "広島県", "34202": "呉市", "34207": "福山市", "34462": "世羅町"},
    review_base_from=date(2017, 4, 1),
    today=TODAY,
)
NOUZEI = {"id": "A", "name": "nouzei.xml", "declared_type": "application/xml"}


def errors_of(values: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in check_entry(values, CTX) + check_offices(values, CTX)}


def with_(path: str, value: Any, values: dict[str, Any] | None = None) -> dict[str, Any]:
    out = copy.deepcopy(values or valid_values())
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[parts[-1]] = value
    return out


def test_the_valid_filing_has_no_error() -> None:
    values = with_("attachment", {"id": "A", "title": "nouzei", "checked": True})
    assert check_all(values, CTX, NOUZEI) == {"entry": [], "offices": [], "attachment": []}


def test_corporate_number_check_digit_against_python_stdnum() -> None:
    """第2 3(2) item 02: 13 digits with the official check digit (stdnum.jp.cn the oracle)."""
    rng = random.Random(4)
    for _ in range(200):
        base = f"{rng.randrange(10**12):012d}"
        good = cn.calc_check_digit(base) + base
        bad = str((int(good[0]) + rng.randrange(1, 9)) % 10) + base
        assert cn.is_valid(good)
        assert "company.corporate_number" not in errors_of(with_("company.corporate_number", good))
        assert not cn.is_valid(bad)
        message = errors_of(with_("company.corporate_number", bad))["company.corporate_number"]
        assert message == "法人番号が正しくありません（検査用数字が一致しません）。"
    full = errors_of(
        with_("company.corporate_number", "７" + valid_values()["company"]["corporate_number"][1:])
    )
    assert full["company.corporate_number"] == "法人番号は半角数字13けたで入力してください。"
    individual = with_("company.kind", "individual")
    assert (
        errors_of(individual)["company.corporate_number"]
        == "個人の場合は法人番号を入力しないでください。"
    )


def test_reading_in_full_width_katakana_without_the_kind_of_company() -> None:
    """第2 3(3) item 03: 全角カタカナ; 「株式会社」等 not entered; conversions offered."""
    found = check_entry(with_("company.name_kana", "ｶｽｶﾞｹﾝｾﾂ"), CTX)
    error = next(e for e in found if e["field"] == "company.name_kana")
    assert error["message"] == "全角カタカナ50文字以内で入力してください。"
    assert error["suggestion"] == "カスガケンセツ"  # offered, not applied
    hira = next(
        e
        for e in check_entry(with_("company.name_kana", "かすがけんせつ"), CTX)
        if e["field"] == "company.name_kana"
    )
    assert hira["suggestion"] == "カスガケンセツ"
    assert (
        errors_of(with_("company.name_kana", "カブシキガイシャカスガケンセツ"))["company.name_kana"]
        == "「株式会社」等の法人の種類を表す文字は入力しないでください。"
    )


def test_company_name_with_the_abbreviation_table() -> None:
    """第2 3(4) item 04: 全角50文字以内; the kind only as a 略号 (table), before or after."""
    spelled = next(
        e
        for e in check_entry(with_("company.name", "株式会社春日建設"), CTX)
        if e["field"] == "company.name"
    )
    assert (
        spelled["message"]
        == "法人の種類は略号を用いて入力してください（「株式会社」は「（株）」）。"
    )
    assert spelled["suggestion"] == "（株）春日建設"
    for name in ("（株）春日建設", "春日建設（株）", "（一社）広島県建設協会", "春日建設（責）"):
        assert "company.name" not in errors_of(with_("company.name", name)), name
    assert errors_of(with_("company.name", "春日（株）建設"))["company.name"] == (
        "略号は商号又は名称の前又は後に入力してください。"
    )
    half = next(
        e
        for e in check_entry(with_("company.name", "(株)ABC建設"), CTX)
        if e["field"] == "company.name"
    )
    assert (
        half["message"] == "全角50文字以内で入力してください（半角文字「()ABC」が含まれています）。"
    )
    assert half["suggestion"] == "（株）ＡＢＣ建設"
    assert (
        errors_of(with_("company.name", "建" * 51))["company.name"]
        == "全角50文字以内で入力してください。"
    )
    assert (
        errors_of(with_("company.name", ""))["company.name"] == "必須項目です。入力してください。"
    )


def test_variant_characters_are_accepted_and_counted_as_one() -> None:
    """﨑 (U+FA11), 髙 (U+9AD9), 𠮷 (U+20BB7) are full-width and count one each."""
    name = "（株）髙﨑𠮷" + "建" * 44  # 4 + 3 + 44 = 50 characters (𠮷: 2 UTF-16 units)
    assert len(name.encode("utf-16-le")) // 2 == 51
    assert "company.name" not in errors_of(with_("company.name", name))
    assert widths.is_full_width("髙﨑𠮷")
    assert widths.to_full_width("髙﨑𠮷") == "髙﨑𠮷"  # never folded to 高崎吉


def test_address_with_hyphens_full_width_digits_and_no_city() -> None:
    """第2 3(6) item 09: 丁目・番・号 as 「－」, digits full-width, the city not repeated,
    the building on its own line (the guide's example: 基町10番52号 → 基町１０－５２)."""
    units = next(
        e
        for e in check_entry(with_("company.address", "基町１０番５２号"), CTX)
        if e["field"] == "company.address"
    )
    assert units["suggestion"] == "基町１０－５２"
    digits = next(
        e
        for e in check_entry(with_("company.address", "基町10-52"), CTX)
        if e["field"] == "company.address"
    )
    assert digits["suggestion"] == "基町１０－５２"
    city = errors_of(with_("company.address", "広島県福山市三吉町南２－１１－２２"))
    assert (
        city["company.address"]
        == "「広島県福山市」は市区町村コードで選択済みのため入力しないでください。"
    )


def test_former_permit_only_when_changed_since_2013_11_01() -> None:
    """第2 3(8) item 11: 平成25年11月1日以降 changes only; nothing when unchanged."""
    former = {
        "authority": "00",
        "number": "23456",
        "changed_on": "2013-10-31",
        "reason": "許可換え新規",
    }
    assert (
        "平成25年11月1日"
        in errors_of(with_("company.former_permit", former))["company.former_permit.changed_on"]
    )
    assert "company.former_permit.changed_on" not in errors_of(
        with_("company.former_permit", {**former, "changed_on": "2013-11-01"})
    )
    same = {**former, "authority": "34", "number": "12345", "changed_on": "2014-01-01"}
    assert errors_of(with_("company.former_permit", same))["company.former_permit.number"] == (
        "変更がない場合は入力しないでください。"
    )


def outside(values: dict[str, Any]) -> dict[str, Any]:
    """The same company with its main office in 大阪市北区 and no office in Hiroshima."""
    out = with_("company.city_code", "27127", values)
    out["company"]["local_offices"] = "no"
    out["offices"] = {
        "mode": "nearest",
        "items": [{**out["offices"]["items"][0], "city_code": "33101"}],
    }
    return out


def test_point_items_only_for_companies_in_the_prefecture() -> None:
    """第2 3(18)(25)(26) items 22, 29, 30: 県外に主たる営業所がある場合は選択できません."""
    values = outside(valid_values())
    values["points"] |= {"disability": "yes", "fire_brigade": "yes", "cooperating": "both"}
    found = errors_of(values)
    for path in ("points.disability", "points.fire_brigade", "points.cooperating"):
        assert (
            found[path]
            == "県外に主たる営業所がある場合は選択できません。「なし」を選択してください。"
        )
    # EA21 needs an office in Hiroshima (第2 3(23)ア).
    assert found["points.eco"] == "広島県内の営業所等が認証を受けている場合のみ選択できます。"


def test_ea21_is_none_when_the_review_has_iso14001() -> None:
    """第2 3(23) and 4(9): ISO14001 「有」 → 27 and 14 must be なし."""
    values = with_("review.iso14001", "有")
    values["offices"]["items"][0]["eco"] = "yes"
    found = errors_of(values)
    assert "ISO14001の登録が「有」" in found["points.eco"]
    assert "ISO14001の登録が「有」" in found["offices.items.0.eco"]


def test_street_tree_only_with_landscaping() -> None:
    """第2 3(30) item 34: 造園工事を希望する者のみ."""
    found = errors_of(with_("points.street_tree", "yes"))
    assert found["points.street_tree"] == "造園工事を希望する場合のみ「あり」を選択できます。"


def test_categories_need_their_base_and_a_completed_work_average() -> None:
    """第1 4(1)エ・オ and 別表: PC needs 土木一式, 法面処理 とび, 鋼橋上部 鋼構造物."""
    assert [
        (c.name, catalog.CATEGORY_BY_CODE[c.base].name) for c in catalog.CATEGORIES if c.base
    ] == [
        ("プレストレストコンクリート工事", "土木一式工事"),
        ("法面処理工事", "とび・土工・コンクリート工事"),
        ("鋼橋上部工事", "鋼構造物工事"),
    ]
    assert len(catalog.CATEGORIES) == 32
    values = valid_values()
    del values["review"]["categories"]["01"]
    values["offices"]["items"][0]["categories"] = ["13"]
    found = errors_of(values)
    assert found["review.categories.01p"] == (
        "プレストレストコンクリート工事を希望する場合は、土木一式工事も希望してください。"
    )
    zero = errors_of(with_("review.categories.13.average", "0"))
    assert zero["review.categories.13.average"] == "年間平均完成工事高がない業種は申請できません。"
    full = [
        e
        for e in check_entry(with_("review.categories.13.p", "８１２"), CTX)
        if e["field"] == "review.categories.13.p"
    ]
    assert full[0]["message"] == "半角数字で入力してください。"
    assert full[0]["suggestion"] == "812"


def test_review_base_date_and_insurance() -> None:
    """第1 5: 審査基準日 from 平成29年4月1日; ※4 保険 「無」 cannot file electronically."""
    old = errors_of(with_("review.base_date", "2017-03-31"))
    assert (
        old["review.base_date"]
        == "審査基準日が平成29年4月1日以降の経営事項審査を使用してください。"
    )
    none = errors_of(with_("review.insurance.pension", "無"))
    assert "電子申請できません" in none["review.insurance.pension"]


def test_offices_are_a_subset_and_in_the_prefecture() -> None:
    """第2 4(1)(2)(8): categories a subset of those applied for; 県内 offices only; 16 agrees."""
    values = valid_values()
    values["offices"]["items"][1]["categories"] = ["13", "02"]
    values["offices"]["items"][0]["city_code"] = "33101"
    found = errors_of(values)
    assert (
        found["offices.items.1.categories"]
        == "希望ありとしていない業種は選択できません（建築一式工事）。"
    )
    assert (
        found["offices.items.0.city_code"]
        == "広島県内の営業所のみ入力してください（県外の営業所は入力できません）。"
    )
    none = with_("offices", {"mode": "none", "items": []})
    assert (
        errors_of(none)["offices.mode"]
        == "「16 県内営業所の有無」が「あり」のため、県内の営業所を入力してください。"
    )
    values = valid_values()
    values["offices"]["items"][0]["name"] = "春日建設呉支店"
    assert (
        errors_of(values)["offices.items.0.name"]
        == "会社名は入力せず、「～支店」等のみ入力してください。"
    )
    values["offices"]["items"][0]["rep_name"] = "髙橋一郎"
    assert errors_of(values)["offices.items.0.rep_name"] == "姓と名を一字空けて入力してください。"
    # 4(2)イ: a company outside with no office in Hiroshima enters its one nearest office.
    out = outside(valid_values())
    out["points"] |= {"disability": "no", "cooperating": "none", "eco": "none"}
    out["offices"]["items"][0]["eco"] = "yes"
    assert errors_of(out) == {
        "offices.items.0.eco": "県外の営業所では選択できません。「なし」を選択してください。"
    }


def test_one_attachment_named_nouzei_with_an_ascii_title_and_the_tick() -> None:
    """第2 5 and 第1 7: 「nouzei」, タイトル名は半角英数字, the applicant's tick."""
    values = with_("attachment", {"id": "A", "title": "納税証明", "checked": False})
    found = {
        e["field"]: e["message"]
        for e in check_attachment(values, {**NOUZEI, "name": "納税証明書.pdf"}, TODAY)
    }
    assert found["attachment.file"].startswith(
        "電子納税証明書はファイル名を「nouzei」としてください"
    )
    assert found["attachment.title"] == "タイトル名は半角英数字で入力してください。"
    assert found["attachment.checked"] == "添付ファイルを確認したらチェックを付けてください。"
    jpg = check_attachment(
        with_("attachment", {"id": "A", "title": "nouzei", "checked": True}),
        {"name": "nouzei.jpg", "declared_type": "image/jpeg"},
        TODAY,
    )
    assert "XMLまたはPDF" in jpg[0]["message"]


def test_papers_follow_the_answers() -> None:
    """第1 8: ○ always, △ by the answers, 12/14/15/16 only for 県内業者, 2 for 大臣許可."""
    values = valid_values()

    def kinds(v: dict[str, Any], a: bool = True) -> list[int]:
        return [p["no"] for p in common_papers(v, CTX, has_attachment=a, target_names=CTX.targets)]

    assert kinds(values) == [1, 3, 5, 6, 8, 12, 15]
    assert kinds(values, False) == [1, 3, 4, 5, 6, 8, 12, 15]  # no e-tax file: paper no. 4
    assert kinds(with_("company.permit.authority", "00")) == [1, 2, 3, 5, 6, 8, 12, 15]
    out = outside(values)
    out["points"]["eco"] = "none"
    assert kinds(out) == [1, 2, 3, 5, 8]  # 県外: no 12/15, no. 2 always
    no_tax = with_("no_tax", ["34000", "34202", "34207"])
    assert 3 not in kinds(no_tax)  # 注1: no certificate where no tax is owed


def test_windows_follow_the_calendar_and_the_hours() -> None:
    """第1 2(1): 9:00-17:00 on weekdays; holidays and 12/29-1/3 from the master calendar."""
    round_ = {
        "filing_start": "2018-11-01",
        "filing_end": "2018-11-22",
        "correction_deadline": "2018-11-30",
    }
    cal = BusinessCalendar()

    def at(h: int, m: int, d: int = 8) -> Any:
        return window(round_, cal, datetime(2018, 11, d, h, m, tzinfo=JST), "apply")

    assert at(16, 59).open
    assert not at(17, 0).open
    assert at(17, 1).next_open == datetime(2018, 11, 9, 0, 0, tzinfo=UTC)
    assert at(9, 0).open
    assert not at(8, 59).open
    # 11/22 after 17:00 → the period is over; corrections open on Monday 11/26 (11/23 祝日).
    assert at(17, 1, 22).next_open is None
    corr = window(round_, cal, datetime(2018, 11, 22, 8, 1, tzinfo=UTC), "correct")
    assert corr.next_open == datetime(2018, 11, 26, 0, 0, tzinfo=UTC)
    year_end = {"filing_start": "2018-12-27", "filing_end": "2019-01-10"}
    w = window(year_end, cal, datetime(2018, 12, 28, 8, 1, tzinfo=UTC), "apply")
    assert w.next_open == datetime(2019, 1, 4, 0, 0, tzinfo=UTC)  # 12/29-1/3 closed


def test_p_score_and_the_import() -> None:
    """P = 0.25X1 + 0.15X2 + 0.20Y + 0.25Z + 0.15W, half up (module-anchors §4)."""
    assert p_score(900, 800, 850, 900, 1000) == 890  # 225+120+170+225+150
    assert p_score(1, 1, 1, 1, 1) == 1  # 0.25+0.15+0.20+0.25+0.15 = 1.00
    assert p_score(2, 0, 0, 0, 0) == 1  # 0.5 → 1 (half up)
    companies = parse(read_table(review_csv(encoding="cp932"), "keishin.csv"))
    kasuga = next(c for c in companies if c["permit"]["number"] == "12345")
    assert sorted(kasuga["categories"]) == ["01", "01p", "13"]
    assert kasuga["categories"]["01"] == {"permit_kind": "special", "p": 890, "staff1": 5,
        "staff2": 8, "staff_other": 3, "average": 450000}  # fmt: skip
    bad = review_csv(
        [[*r[:12], "891", *r[13:]] if i == 0 else r for i, r in enumerate(REVIEW_ROWS)]
    )
    with pytest.raises(ImportError_) as caught:
        parse(read_table(bad, "x.csv"))
    assert caught.value.errors == [
        {"line": 2, "message": "総合評定値P（891）が評点から計算した値（890）と一致しません。"}
    ]


def test_mismatches_name_each_field() -> None:
    """第2 6(2)イ: each item that differs from the stored 経審."""
    record = parse(read_table(review_csv(), "k.csv"))[0]
    assert mismatches(valid_values(), record) == []
    values = with_("review.categories.01.permit_kind", "general")
    values["review"]["categories"]["13"]["staff2"] = "5"
    assert [m["field"] for m in mismatches(values, record)] == [
        "review.categories.01.permit_kind",
        "review.categories.13.staff2",
    ]
    assert mismatches(valid_values(), None)[0]["message"].startswith(
        "経営事項審査のデータが見つかりません"
    )
