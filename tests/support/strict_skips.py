"""Skips under ``scripts/test``: there a skip is a failure unless the test declares it.

``scripts/test`` (and so CI) exports ``KURA_TEST_STRICT=1``: ``scripts/setup --dev`` installed
every tool a test can need (Chromium, node, axe-core, the built UI) and the real test servers
are up, so a test that skips there is a hole a green run would hide (a tool missing, a module
renamed, a server not reached). With the variable set, a skipped test is reported as failed,
and a module skipped at collection as a collection error, unless the test carries
``@pytest.mark.allowed_skip("why this skip is expected in CI")``. Either way the terminal
summary counts the skips and lists their reasons. Expected failures (xfail) are not skips.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass

import pytest

STRICT_ENV = "KURA_TEST_STRICT"


def strict() -> bool:
    return os.environ.get(STRICT_ENV) == "1"


@dataclass(frozen=True)
class Skip:
    nodeid: str
    reason: str
    allowed: str | None  # the allowed_skip marker's reason


SKIPS = pytest.StashKey[list[Skip]]()
_PROPERTY = "kura_skip"
_CONFIG: list[pytest.Config] = []  # the session's config (pytest_runtest_logreport has none)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allowed_skip(reason): the test may skip under KURA_TEST_STRICT=1 (scripts/test); "
        "reason says why that skip is expected in CI",
    )
    config.stash[SKIPS] = []
    _CONFIG[:] = [config]


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _failure(reason: str) -> str:
    return (
        f"skipped although {STRICT_ENV}=1 (scripts/test, CI): {reason}\n"
        "Everything a test needs is installed there: install or fix what is missing, or mark "
        'the test @pytest.mark.allowed_skip("why this skip is expected in CI").'
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = _reason(report)
        marker = item.get_closest_marker("allowed_skip")
        allowed = str(marker.args[0]) if marker and marker.args else None
        if marker is not None and allowed is None:
            allowed = "(no reason given)"
        # Carried on the report, so that with pytest-xdist the controller (which prints the
        # summary) learns of skips in its workers: user_properties travel with the report.
        report.user_properties.append((_PROPERTY, (reason, allowed)))
        if strict() and marker is None:
            report.outcome = "failed"
            report.longrepr = _failure(reason)
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the skip where the summary is printed (the only process, or xdist's controller)."""
    for name, value in report.user_properties:
        if name == _PROPERTY:
            reason, allowed = value  # type: ignore[misc]
            _CONFIG[0].stash[SKIPS].append(Skip(report.nodeid, reason, allowed))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if report.skipped:
        reason = _reason(report)
        collector.config.stash[SKIPS].append(Skip(report.nodeid, reason, None))
        if strict():
            report.outcome = "failed"
            report.longrepr = _failure(reason)
    return report


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    skips = config.stash.get(SKIPS, [])
    mode = "strict: a skip fails" if strict() else f"not strict ({STRICT_ENV} unset)"
    if not skips:
        if strict():
            terminalreporter.write_line(f"skips: 0 ({mode})")
        return
    terminalreporter.section(f"skips: {len(skips)} ({mode})", sep="-")
    allowed = Counter((s.reason, s.allowed) for s in skips if s.allowed is not None)
    failing = Counter(s.reason for s in skips if s.allowed is None)
    label = "failed" if strict() else "skipped"
    for reason, n in failing.most_common():
        example = next(s.nodeid for s in skips if s.allowed is None and s.reason == reason)
        terminalreporter.write_line(f"{n:5d} {label}: {reason}  (e.g. {example})")
    for (reason, why), n in allowed.most_common():
        terminalreporter.write_line(f"{n:5d} allowed: {reason}  (allowed because: {why})")
