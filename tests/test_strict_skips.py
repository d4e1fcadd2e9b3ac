"""``tests.support.strict_skips``: under ``KURA_TEST_STRICT=1`` (what scripts/test exports) a
skip fails unless the test is marked ``allowed_skip``; the summary counts skips with reasons.

Each case runs pytest in a subprocess on a small test file in a temp folder, with the plugin
loaded by ``-p`` as the suite's conftest loads it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = "tests.support.strict_skips"

SKIPPING = """
import pytest

def test_passes():
    pass

def test_tool_missing():
    pytest.skip("axe-core missing")

@pytest.mark.skipif(True, reason="node missing")
def test_marked():
    pass

@pytest.fixture
def server():
    pytest.skip("ui/dist not built")

def test_fixture_skips(server):
    pass

@pytest.mark.allowed_skip("the plan check is for the embedded store only")
def test_allowed():
    pytest.skip("not the embedded store")

@pytest.mark.xfail(reason="known difference", strict=True)
def test_expected_failure():
    assert False
"""

MODULE_SKIP = """
import pytest
pytest.importorskip("kura_module_that_was_renamed")

def test_never_runs():
    pass
"""


def run_pytest(
    tmp_path: Path, source: str, *, strict: bool, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_sample.py"
    test.write_text(source)
    env = {k: v for k, v in os.environ.items() if k != "KURA_TEST_STRICT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if strict:
        env["KURA_TEST_STRICT"] = "1"
    args = ["-p", PLUGIN, "-p", "no:cacheprovider", "-q", "-rA", "--rootdir", str(tmp_path)]
    args += extra
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-c", os.devnull, str(test)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_strict_skips_stay_skips_and_are_counted(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, SKIPPING, strict=False)
    out = done.stdout
    assert done.returncode == 0, out
    assert "1 passed, 4 skipped, 1 xfailed" in out, out
    assert "skips: 4 (not strict (KURA_TEST_STRICT unset))" in out, out
    for reason in ("axe-core missing", "node missing", "ui/dist not built"):
        assert f"1 skipped: {reason}" in out, out
    assert "allowed: not the embedded store" in out, out


def test_strict_turns_each_skip_into_a_failure(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, SKIPPING, strict=True)
    out = done.stdout
    assert done.returncode == 1, out
    # a skip in the test fails it; a skipif marker or a fixture's skip is a setup error
    assert "FAILED test_sample.py::test_tool_missing" in out, out
    assert "ERROR test_sample.py::test_marked" in out, out
    assert "ERROR test_sample.py::test_fixture_skips" in out, out
    assert "skipped although KURA_TEST_STRICT=1 (scripts/test, CI): axe-core missing" in out
    # the declared skip stays a skip, the strict xfail stays an xfail
    assert ": not the embedded store" in out, out
    assert "SKIPPED [1] test_sample.py:" in out, out
    assert "XFAIL test_sample.py::test_expected_failure" in out, out
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed, 2 errors" in out, out
    assert "skips: 4 (strict: a skip fails)" in out, out
    assert "1 failed: node missing" in out, out
    assert (
        "1 allowed: not the embedded store  "
        "(allowed because: the plan check is for the embedded store only)"
    ) in out, out


def test_strict_fails_a_module_skipped_at_import(tmp_path: Path) -> None:
    loose = run_pytest(tmp_path, MODULE_SKIP, strict=False)
    assert loose.returncode == 5, loose.stdout  # 5: no test ran, the module was skipped
    assert "1 skipped" in loose.stdout, loose.stdout
    done = run_pytest(tmp_path, MODULE_SKIP, strict=True)
    assert done.returncode != 0, done.stdout
    assert "ERROR test_sample.py" in done.stdout, done.stdout
    assert "kura_module_that_was_renamed" in done.stdout, done.stdout


def test_strict_run_without_skips_says_so(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "def test_ok():\n    pass\n", strict=True)
    assert done.returncode == 0, done.stdout
    assert "skips: 0 (strict: a skip fails)" in done.stdout, done.stdout


def test_workers_skips_reach_the_summary(tmp_path: Path) -> None:
    """scripts/test runs pytest-xdist workers: the controller prints the summary, so the skips
    of its workers must reach it (on the reports), strict or not."""
    loose = run_pytest(tmp_path, SKIPPING, strict=False, extra=("-n", "2"))
    assert loose.returncode == 0, loose.stdout
    assert "skips: 4 (not strict (KURA_TEST_STRICT unset))" in loose.stdout, loose.stdout
    assert "1 skipped: axe-core missing" in loose.stdout, loose.stdout
    done = run_pytest(tmp_path, SKIPPING, strict=True, extra=("-n", "2"))
    assert done.returncode == 1, done.stdout
    assert "skips: 4 (strict: a skip fails)" in done.stdout, done.stdout
    assert "1 failed: node missing" in done.stdout, done.stdout
    assert "allowed because: the plan check is for the embedded store only" in done.stdout
