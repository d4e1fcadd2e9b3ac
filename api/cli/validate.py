"""``kura validate PATH``: the 電子納品 check (deliverables-and-bonds.md §2.2) on a ZIP or a
folder, offline. Exit 0 without E findings, 1 with any, 2 when the input cannot be read.

``--clamd tcp://host:3310`` (or ``KURA_DELIVERABLES__CLAMD_URL``) scans every file with
ClamAV (rule 29); without it the report says the virus check was not run."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import click

from api.config import Settings
from indexer.extract.deliverable import Report, ZipTree, validate_tree
from indexer.extract.deliverable.clamd import ClamdScanner
from indexer.extract.deliverable.rules import Profile

SEVERITY = {"E": "エラー", "W": "警告", "N": "通知"}


def render_text(report: Report) -> str:
    lines = []
    if report.index_kind:
        lines.append(
            f"要領: {report.standard}  適用要領基準: {report.applied_standard or '－'}  "
            f"DTD: {report.dtd_version or '－'}  プロファイル: {report.profile}"
        )
        if report.edition:
            lines.append(f"判定した要領: {report.edition}")
    for f in report.findings:
        where = f.path or "-"
        if f.line:
            where += f":{f.line}" + (f":{f.column}" if f.column else "")
        lines.append(f"{f.severity} [規則{f.rule}] {where}: {f.message}")
    counts = report.counts
    lines.append(" / ".join(f"{SEVERITY[s]} {counts[s]}件" for s in "EWN"))
    return "\n".join(lines)


def render_json(report: Report) -> str:
    body = {
        "index_kind": report.index_kind,
        "standard": report.standard,
        "applied_standard": report.applied_standard,
        "dtd_version": report.dtd_version,
        "root": report.root,
        "fields": report.fields,
        "unreferenced": report.unreferenced,
        **report.to_dict(),
    }
    return json.dumps(body, ensure_ascii=False, indent=2)


def register(cli: click.Group) -> None:
    """Add ``validate``."""

    @cli.command("validate")
    @click.argument("path", type=click.Path(path_type=Path))
    @click.option(
        "--profile",
        type=click.Choice(["mlit", "maff"]),
        default=None,
        help="mlit: 国土交通省（標準）, maff: 農林水産省（厳格）。省略時は適用要領基準から。",
    )
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
    @click.option(
        "--clamd",
        default=None,
        help="ClamAVのclamd（tcp://host:port または unix:///path）。省略時は "
        "KURA_DELIVERABLES__CLAMD_URL、それもなければウイルスチェックは実施しません。",
    )
    def validate_cmd(path: Path, profile: Profile | None, fmt: str, clamd: str | None) -> None:
        """Check a 電子納品 package (ZIP or folder) without network access."""
        try:
            configured = Settings().deliverables
            url = clamd or configured.clamd_url
            scanner = ClamdScanner(url, configured.clamd_timeout_s) if url else None
        except ValueError as exc:  # includes pydantic's ValidationError
            click.echo(f"clamdの指定が正しくありません: {exc}", err=True)
            sys.exit(2)
        try:
            if path.is_dir():
                report = validate_tree(path, profile, scanner=scanner)
            elif path.is_file() and zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as zf:
                    report = validate_tree(ZipTree(zf), profile, scanner=scanner)
            else:
                click.echo(
                    f"読み込めません（フォルダまたはZIPを指定してください）: {path}", err=True
                )
                sys.exit(2)
        except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
            click.echo(f"読み込めません: {path}: {exc}", err=True)
            sys.exit(2)
        click.echo(render_json(report) if fmt == "json" else render_text(report))
        sys.exit(1 if report.counts["E"] else 0)
