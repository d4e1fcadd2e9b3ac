"""scripts/audit_deps.py judges pip-audit and npm audit reports (issue 12 §4): it fails on a
Python vulnerability, a high/critical npm advisory, a dependency that was not audited, or an
audit that did not run, except advisories reviewed until a date not yet past. The reports
below have the shapes pip-audit 2 and npm 10 print with ``--format json`` / ``--json``."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_deps.py"

PIP = {
    "dependencies": [
        {"name": "kura", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        {
            "name": "jinja2",
            "version": "3.1.2",
            "vulns": [
                {
                    "id": "GHSA-h5c8-rqwp-cp95",
                    "fix_versions": ["3.1.3"],
                    "aliases": ["CVE-2024-22195"],
                    "description": "xmlattr",
                }
            ],
        },
        {"name": "idna", "version": "3.7", "vulns": []},
    ],
    "fixes": [],
}
NPM = {
    "auditReportVersion": 2,
    "vulnerabilities": {
        "esbuild": {
            "name": "esbuild",
            "severity": "moderate",
            "via": [
                {
                    "source": 1102341,
                    "name": "esbuild",
                    "title": "dev server",
                    "severity": "moderate",
                    "url": "https://github.com/advisories/GHSA-67mh-4wv8-2f99",
                }
            ],
        },
        "braces": {
            "name": "braces",
            "severity": "high",
            "via": [
                {
                    "source": 1098094,
                    "name": "braces",
                    "title": "memory exhaustion",
                    "severity": "high",
                    "url": "https://github.com/advisories/GHSA-grv7-fg5c-xmjg",
                }
            ],
        },
        "micromatch": {"name": "micromatch", "severity": "high", "via": ["braces"]},
    },
}


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(
    audit: ModuleType,
    tmp_path: Path,
    exceptions: str,
    pip: object = PIP,
    npm: object = NPM,
    *extra: str,
) -> int:
    (tmp_path / "pip.json").write_text(json.dumps(pip))
    (tmp_path / "npm.json").write_text(json.dumps(npm))
    (tmp_path / "ex.toml").write_text(exceptions)
    code: int = audit.main(
        [
            "--pip-json",
            str(tmp_path / "pip.json"),
            "--npm-json",
            str(tmp_path / "npm.json"),
            "--exceptions",
            str(tmp_path / "ex.toml"),
            *extra,
        ]
    )
    return code


def test_fails_on_python_vulns_and_high_npm_advisories(
    audit: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(audit, tmp_path, "") == 1
    out = capsys.readouterr().out
    assert "GHSA-h5c8-rqwp-cp95" in out
    assert "GHSA-grv7-fg5c-xmjg" in out
    assert "GHSA-67mh-4wv8-2f99" not in out  # moderate: below the bar
    assert "2 finding(s)" in out


def test_reviewed_exceptions_pass_until_their_date(
    audit: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    future = date(date.today().year + 1, 1, 1).isoformat()
    reviewed = f"""
[[exception]]
id = "CVE-2024-22195"
until = {future}
reason = "xmlattr filter is not used with user keys"

[[exception]]
id = "GHSA-grv7-fg5c-xmjg"
until = {future}
reason = "build tool only, never shipped"
"""
    assert run(audit, tmp_path, reviewed) == 0
    expired = reviewed.replace(future, "2020-01-01", 1)
    assert run(audit, tmp_path, expired) == 1
    assert "expired on 2020-01-01" in capsys.readouterr().out


def test_an_audit_that_did_not_run_is_a_failure(audit: ModuleType, tmp_path: Path) -> None:
    not_audited = {"dependencies": [{"name": "uvicorn", "skip_reason": "could not be audited"}]}
    assert run(audit, tmp_path, "", pip=not_audited, npm={"vulnerabilities": {}}) == 1
    assert run(audit, tmp_path, "", pip={"dependencies": []}, npm={"error": "405"}) == 1
    assert run(audit, tmp_path, "", pip={"dependencies": []}, npm={"vulnerabilities": {}}) == 0


def test_ci_warns_when_the_advisory_databases_are_out_of_reach(
    audit: ModuleType, tmp_path: Path
) -> None:
    """--unaudited-ok (.ci/run): no advisory data gives exit 3 (a warning), never a pass (0);
    a known vulnerability still fails (1) beside unaudited dependencies."""
    not_audited = {"dependencies": [{"name": "uvicorn", "skip_reason": "not found on PyPI"}]}
    offline = {"error": "request to registry failed"}
    assert run(audit, tmp_path, "", not_audited, offline, "--unaudited-ok") == 3
    both = {"dependencies": [PIP["dependencies"][1], *not_audited["dependencies"]]}  # type: ignore[index]
    assert run(audit, tmp_path, "", both, offline, "--unaudited-ok") == 1


def test_an_exception_without_a_reason_is_refused(audit: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reason"):
        run(audit, tmp_path, '[[exception]]\nid = "X"\nuntil = 2030-01-01\n')
