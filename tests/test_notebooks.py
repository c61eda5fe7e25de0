"""Every catalog notebook, executed through the runner at its smoke profile, passes its checks and
reproduces itself: nbval re-executes the executed report and compares the cells marked
``# NBVAL_CHECK_OUTPUT`` (the recorded numbers) with what the report holds."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.report.catalog import load_catalog
from labkit.report.html import write_gallery
from labkit.report.runner import run_notebook

ENTRIES = load_catalog()
REPORTS = Path(os.environ.get("LABKIT_TEST_REPORTS", Path(__file__).resolve().parent.parent / "build" / "test-reports"))


def nbval(notebook: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=600",
         "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-o", "addopts=", str(notebook)],
        capture_output=True, text=True, timeout=900, cwd=notebook.parent)


@pytest.mark.notebook
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_smoke_report_passes_checks_and_reproduces(entry):
    result = run_notebook(entry, profile="smoke", out=REPORTS)
    metrics = json.loads((result.folder / "metrics.json").read_text())
    assert metrics["status"] == "ok", metrics["error"]
    assert all(c["passed"] for c in metrics["checks"]) and len(metrics["checks"]) == len(entry.checks)
    for key in ("parameters", "duration_s", "device", "labkit_version", "git_commit"):
        assert key in metrics
    # the exercises' check cells each printed their ✓ (the instructor build runs this very code: test_workshop.py)
    executed = json.loads((result.folder / "notebook.ipynb").read_text())
    for cell in executed["cells"]:
        if "check" in cell.get("metadata", {}).get("tags", []):
            printed = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))
            assert "✓" in printed and "✗" not in printed, f"a check cell did not pass: {cell['source'][:200]}"
    html = (result.folder / "report.html").read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", html), "the report loads from the network"
    replay = nbval(result.folder / "notebook.ipynb")
    assert replay.returncode == 0, f"nbval: the report does not reproduce itself\n{replay.stdout[-3000:]}"


@pytest.mark.notebook
def test_failing_checks_make_a_failed_report(tmp_path, monkeypatch):
    """A run whose checks fail is a failed run, shown as failed in the gallery."""
    from dataclasses import replace

    from labkit.report.catalog import Check, get_entry

    entry = get_entry("tour")
    impossible = replace(entry, checks=(Check("fi_max_rel_error", "<", 0.0),))
    result = run_notebook(impossible, profile="smoke", out=tmp_path)
    assert result.status == "failed" and "fi_max_rel_error" in result.error
    index = write_gallery(tmp_path).read_text()
    assert "failed" in index and "fi_max_rel_error" in index


@pytest.mark.notebook
def test_tour_is_deterministic(tmp_path):
    from labkit.report.catalog import get_entry

    a = run_notebook(get_entry("tour"), profile="smoke", out=tmp_path / "a").metrics
    b = run_notebook(get_entry("tour"), profile="smoke", out=tmp_path / "b").metrics
    assert a == b and a


CONTROLLED = [e for e in ENTRIES if "control" in e.profiles]


@pytest.mark.notebook
@pytest.mark.parametrize("entry", CONTROLLED, ids=[e.id for e in CONTROLLED])
def test_control_profile_fails_every_truth_check(entry, tmp_path):
    """The negative control: with the method replaced by a null, every truth check must fail (a check
    that stays green there proves nothing about the method) and the run is marked failed."""
    result = run_notebook(entry, profile="control", out=tmp_path)
    truth = [c for c in result.checks if c["kind"] == "truth"]
    assert truth, f"{entry.id} has a control profile but no truth check"
    green = [c["name"] for c in truth if c["passed"]]
    assert not green, f"{entry.id}: truth checks pass under the control: {', '.join(green)}"
    assert result.status == "failed"
