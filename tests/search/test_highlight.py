"""Page-numbered highlights: normalised matching, HTML escaping, at most three pages."""

from __future__ import annotations

from api.search.highlight import page_highlights, snippet, title_highlight


def test_pages_numbered_from_one_and_capped() -> None:
    body = "\f".join(["序文", "ｱｽﾌｧﾙﾄ舗装", "なし", "アスファルト", "あすふぁると", "アスファルト"])
    found = page_highlights(body, "アスファルト")
    assert [h.page for h in found] == [2, 4, 5]
    assert found[0].snippet == "<mark>ｱｽﾌｧﾙﾄ</mark>舗装"
    assert found[2].snippet == "<mark>あすふぁると</mark>"


def test_every_term_marked_and_html_escaped() -> None:
    body = 'a<b>&"c" 品質 管理 品質管理'
    [hit] = page_highlights(body, "品質 管理")
    assert hit.page == 1
    assert hit.snippet == (
        "a&lt;b&gt;&amp;&quot;c&quot; <mark>品質</mark> <mark>管理</mark> <mark>品質管理</mark>"
    )


def test_long_pages_are_cut_around_the_first_match() -> None:
    text = "あ" * 100 + "鉄筋" + "い" * 200
    cut = snippet(text, ["鉄筋"], radius=10)
    assert cut == "…" + "あ" * 10 + "<mark>鉄筋</mark>" + "い" * 18 + "…"


def test_no_terms_no_pages() -> None:
    assert page_highlights("本文", "") == []
    assert page_highlights("", "本文") == []
    assert page_highlights("本文", "別") == []
    assert title_highlight("<title>", "x") is None
    assert title_highlight("<道路>", "道路") == "&lt;<mark>道路</mark>&gt;"
