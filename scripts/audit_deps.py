#!/usr/bin/env python3
"""Dependency vulnerability check for CI (issue 12 §4; seed 001 別表3 1(2), 9).

    scripts/audit-deps            pip-audit of the installed environment, npm audit of ui/
    python scripts/audit_deps.py --pip-json F --npm-json G   (judge saved reports)

Fails (exit 1) on any known vulnerability of a Python dependency (pip-audit reports no
severity, so every one counts), on any high or critical advisory of the UI's lock file, and on
a dependency that could not be audited (a check that did not run is not a pass), except the
advisories reviewed in security/reviewed-vulnerabilities.toml until their date.

``--unaudited-ok`` (CI on machines without the advisory databases): a dependency that could not
be audited is printed as a warning and exits 3 instead of 1 when it is the only kind of
finding; a known vulnerability still fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXCEPTIONS = ROOT / "security" / "reviewed-vulnerabilities.toml"
FAILING_NPM = ("high", "critical")
OWN_PACKAGES = {"kura"}


@dataclass(frozen=True)
class Finding:
    source: str  # "python" / "npm"
    package: str
    ids: tuple[str, ...]  # the advisory id and its aliases
    detail: str

    @property
    def unaudited(self) -> bool:
        """The audit did not run for it (no advisory database, not on PyPI), no advisory."""
        return not self.ids and self.detail.startswith(("not audited", "npm audit did not run"))


def load_exceptions(path: Path, today: date) -> tuple[set[str], list[str]]:
    """Ids accepted today, and notes about expired entries."""
    if not path.exists():
        return set(), []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    accepted: set[str] = set()
    notes: list[str] = []
    for entry in data.get("exception", []):
        ident, until, reason = entry.get("id"), entry.get("until"), entry.get("reason")
        if not ident or not isinstance(until, date) or not reason:
            raise ValueError(f"{path}: each exception needs id, until (a date) and reason")
        if until >= today:
            accepted.add(str(ident))
        else:
            notes.append(f"exception {ident} expired on {until}: review it again")
    return accepted, notes


def pip_findings(report: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    for dep in report.get("dependencies", []):
        name = str(dep.get("name"))
        if "skip_reason" in dep:
            if name.lower() not in OWN_PACKAGES:
                out.append(Finding("python", name, (), f"not audited: {dep['skip_reason']}"))
            continue
        for vuln in dep.get("vulns", []):
            ids = (str(vuln["id"]), *(str(a) for a in vuln.get("aliases", [])))
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            out.append(Finding("python", f"{name} {dep.get('version')}", ids, f"fix: {fixes}"))
    return out


def npm_findings(report: dict[str, Any]) -> list[Finding]:
    if "error" in report and "vulnerabilities" not in report:
        return [Finding("npm", "ui", (), f"npm audit did not run: {report['error']}")]
    out: list[Finding] = []
    for name, vuln in report.get("vulnerabilities", {}).items():
        for via in vuln.get("via", []):
            if not isinstance(via, dict) or via.get("severity") not in FAILING_NPM:
                continue  # a string names the dependency it comes through
            url = str(via.get("url", ""))
            ids = (url.rsplit("/", 1)[-1],) if url else (str(via.get("source")),)
            out.append(Finding("npm", name, ids, f"{via['severity']}: {via.get('title', '')}"))
    return out


def judge(findings: list[Finding], accepted: set[str]) -> list[Finding]:
    """Findings not covered by a reviewed exception (a finding without an id never is)."""
    return [f for f in findings if not (f.ids and accepted.intersection(f.ids))]


def run_pip() -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "pip_audit", "-l", "--format", "json", "--progress-spinner", "off"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        result: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        return {"dependencies": [{"name": "pip-audit", "skip_reason": proc.stderr.strip()[-500:]}]}
    return result


def run_npm() -> dict[str, Any]:
    npm = shutil.which("npm")
    if npm is None:
        return {"error": "npm is not installed"}
    proc = subprocess.run(  # noqa: S603 - a fixed command line
        [npm, "audit", "--json", "--package-lock-only"],
        cwd=ROOT / "ui",
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        result: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        return {"error": proc.stderr.strip()[-500:]}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pip-json", type=Path)
    parser.add_argument("--npm-json", type=Path)
    parser.add_argument("--exceptions", type=Path, default=EXCEPTIONS)
    parser.add_argument("--unaudited-ok", action="store_true")
    args = parser.parse_args(argv)
    pip = json.loads(args.pip_json.read_text()) if args.pip_json else run_pip()
    npm = json.loads(args.npm_json.read_text()) if args.npm_json else run_npm()
    accepted, notes = load_exceptions(args.exceptions, date.today())
    for note in notes:
        print(f"audit-deps: {note}")
    failing = judge([*pip_findings(pip), *npm_findings(npm)], accepted)
    for f in failing:
        print(f"audit-deps: {f.source} {f.package} {' / '.join(f.ids) or '-'}: {f.detail}")
    if failing and args.unaudited_ok and all(f.unaudited for f in failing):
        print(f"audit-deps: WARNING: not audited ({len(failing)} dependencies): no advisory data")
        return 3
    print(f"audit-deps: {'FAILED' if failing else 'ok'} ({len(failing)} finding(s))")
    return 1 if failing else 0


if __name__ == "__main__":
    raise SystemExit(main())
