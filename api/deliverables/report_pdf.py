"""The 電子納品 check result printed as PDF through the shared renderer (issue 8 §2): the
package, its counts, the 受領確認 and every finding with its rule's name and a link to the file
in the web interface (``<mail.base_url>/#/browse/<work>/<file>``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from api.container import Container
from api.deliverables.checks import PROFILE_NAMES, SEVERITY_NAMES, counts_of
from api.kit.clock import jst_stamp, jst_text
from storage.query import Record

TEMPLATE = "deliverables/templates/check_report.typ"
MAX_FINDINGS = 5000


def kind_words(work: Record) -> tuple[str, str]:
    """(工事名 / 業務名, 工事番号 / 業務番号) for the work's kind (glossary: 工事 vs 業務)."""
    if work.get("kind") == "service":
        return "業務名", "業務番号"
    return "工事名", "工事番号"


def report_data(container: Container, record: Record, work: Record) -> dict[str, Any]:
    """The template's JSON document (data only: the template places strings as text)."""
    report = record.get("report") or {}
    base = container.settings.mail.base_url.rstrip("/")
    title_word, number_word = kind_words(work)
    receipt = record.get("receipt")
    fields = [
        [title_word, str(work.get("title") or "")],
        [number_word, str(work.get("number") or "")],
        ["パッケージ", str(record.get("root_path") or "（案件の最上位）")],
        ["要領", str(record.get("standard") or "－")],
        ["適用要領基準", str(record.get("applied_standard") or "－")],
        ["DTDバージョン", str(record.get("dtd_version") or "－")],
        ["検査基準", PROFILE_NAMES.get(str(report.get("profile")), str(report.get("profile")))],
        ["検査日時", jst_text(record.get("created_at"))],
    ]
    counts = counts_of(record)
    findings = []
    for f in (report.get("findings") or [])[:MAX_FINDINGS]:
        sev = str(f.get("severity") or "N")
        node_id = f.get("node_id")
        line = f.get("line")
        column = f.get("column")
        position = f"{line}行" + (f"{column}列" if column else "") if line else ""
        findings.append(
            {
                "severity": sev if sev in SEVERITY_NAMES else "N",
                "severity_label": SEVERITY_NAMES.get(sev, sev),
                "rule": f"規則{f.get('rule')} {f.get('title') or ''}".strip(),
                "path": str(f.get("path") or "（パッケージ全体）"),
                "url": (
                    f"{base}/#/browse/{quote(str(record['work_id']))}/{quote(str(node_id))}"
                    if node_id
                    else None
                ),
                "position": position,
                "message": str(f.get("message") or ""),
            }
        )
    omitted = len(report.get("findings") or []) - len(findings)
    return {
        "title": "電子納品 検査結果",
        "subtitle": str(work.get("title") or ""),
        "number": str(work.get("number") or ""),
        "footer": f"出力 {jst_text(container.clock.now())}",
        "fields": fields,
        "counts": [{"severity": s, "label": SEVERITY_NAMES[s], "count": counts[s]} for s in "EWN"],
        "receipt": (
            f"受領確認済み: {receipt.get('by_name')}（{jst_text(receipt.get('at'))}）"
            + (f" {receipt['note']}" if receipt.get("note") else "")
            if isinstance(receipt, dict)
            else None
        ),
        "findings": findings,
        "note": (f"ほか{omitted}件の指摘は画面でご確認ください。" if omitted > 0 else None),
    }


def file_name(container: Container, work: Record) -> str:
    """``電子納品検査結果_<番号>_<JST time>.pdf``."""
    number = str(work.get("number") or work["id"]).replace("/", "_")
    return f"電子納品検査結果_{number}_{jst_stamp(container.clock.now())}.pdf"
