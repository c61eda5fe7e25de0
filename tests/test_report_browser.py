"""The tour's HTML report, opened in headless Chromium with the network cut, draws its figures.

Skips where no chromium is installed, unless LABKIT_REQUIRE_BROWSER=1 (set by .ci/run), which turns
the skip into a failure so CI always runs it.
"""
import os
import re
import shutil
import subprocess

import pytest

from labkit.report.catalog import get_entry
from labkit.report.runner import run_notebook

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
REQUIRED = os.environ.get("LABKIT_REQUIRE_BROWSER") == "1"


def _no_network_prefix() -> list[str]:
    """`unshare -n` runs the browser in a new network namespace with no interfaces up."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    if REQUIRED:
        pytest.fail("cannot cut the network for the browser test: `unshare -n` is not permitted here")
    pytest.skip("`unshare -n` is not permitted here")


@pytest.mark.browser
def test_tour_report_draws_its_figures_offline(tmp_path):
    if CHROMIUM is None:
        if REQUIRED:
            pytest.fail("LABKIT_REQUIRE_BROWSER=1 but no chromium is installed")
        pytest.skip("no chromium installed")
    result = run_notebook(get_entry("tour"), profile="smoke", out=tmp_path / "reports")
    assert result.ok, result.error
    page = result.folder / "report.html"
    html = page.read_text()
    assert not re.search(r"<script[^>]+src=[\"']https?://", html), "the report loads a script from the network"
    cmd = [*_no_network_prefix(), CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000", "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=180).stdout
    figures = html.count('class="plotly-graph-div"')
    drawn = len(re.findall(r'<svg class="main-svg"', dom))
    assert figures >= 2, "the tour should hold at least two figures"
    # plotly draws two <svg class="main-svg"> layers per figure once its JavaScript has run
    assert drawn >= 2 * figures, f"{drawn} svg layers for {figures} figures: the figures were not drawn"
    assert "<math" in dom, "equations were not rendered as MathML"
