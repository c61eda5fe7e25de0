"""Issue 21's bad inputs, each answered as the README promises: exit code 2, one line on stderr naming
the argument, and nothing written (no report, gallery, sweep or workshop folder)."""
import os
import subprocess
import sys

import pytest

from labkit.core.params import ParameterError
from labkit.report.errors import UsageError

ROOT = os.geteuid() == 0  # root writes into read-only folders

CASES = [  # (arguments, the name the sentence must hold); {tmp} is the test's folder, the command runs in it
    (["run", "tour", "-p", "noise_std", ".nan"], "noise_std"),
    (["run", "tour", "-p", "noise_std", ".inf"], "noise_std"),
    (["run", "tour", "-p", "max_current", ".inf"], "max_current"),
    (["run", "tour", "-p", "n_currents", "1"], "n_currents"),
    (["run", "tour", "-p", "dt", "5.0"], "dt"),
    (["run", "tour", "-p", "seed", "-1"], "seed"),
    (["run", "tour", "-p", "n_currents", "4", "-p", "n_currents", "5"], "n_currents"),
    (["run", "tour", "--timeout", "-5"], "--timeout"),
    (["run", "tour", "--timeout", "0"], "--timeout"),
    (["run", "tour", "--profile", "huge"], "--profile"),
    (["run", "no/such"], "no/such"),
    (["run"], "ID"),
    (["run", "tour", "--out", "/dev/null/reports"], "--out"),
    (["run", "tour", "--out", "{tmp}/a_file/reports"], "--out"),
    (["run", "tour", "--out", "{tmp}/a_file"], "--out"),
    (["gallery", "--out", "/dev/null/reports"], "--out"),
    (["gallery", "--out", "{tmp}/a_file/reports"], "--out"),
    (["workshop", "build", "--out", "/dev/null/workshop"], "--out"),
    (["workshop", "build", "--out", "{tmp}/a_file/workshop"], "--out"),
    (["workshop", "build", "--binder-repo", "not a repo"], "--binder-repo"),
    (["workshop", "build", "--binder-repo", "owner/name/extra"], "--binder-repo"),
    (["workshop", "build", "--binder-repo", "'><script>x</script>/y"], "--binder-repo"),
    (["sweep", "tour", "-g", "tau_m=10,1000"], "tau_m"),
    (["sweep", "tour", "-g", "noise_std=.nan"], "noise_std"),
    (["sweep", "tour", "--seeds", "-1"], "--seeds"),
    (["sweep", "tour", "--workers", "0"], "--workers"),
    (["sweep", "tour", "--threads", "-2", "--seeds", "2"], "--threads"),
    (["sweep", "tour", "--seeds", "2", "--out", "/dev/null/sweep"], "--out"),
    (["frobnicate"], "frobnicate"),
    (["gallery", "--out", "{tmp}/foreign"], "--out"),
    (["workshop", "build", "--out", "{tmp}/foreign"], "--out"),
    (["sweep", "tour", "--seeds", "2", "--out", "{tmp}/foreign"], "--out"),
]
if not ROOT:
    CASES += [(["run", "tour", "--out", "{tmp}/read_only/reports"], "--out"),
              (["gallery", "--out", "{tmp}/read_only"], "--out"),
              (["workshop", "build", "--out", "{tmp}/read_only/workshop"], "--out")]


@pytest.mark.parametrize("args,name", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_exits_2_with_one_line_naming_it_and_writes_nothing(tmp_path, args, name):
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "read_only").mkdir()
    (tmp_path / "read_only").chmod(0o555)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "index.html").write_text("<html>not labkit's</html>")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    out = subprocess.run([sys.executable, "-m", "labkit.report.cli", *(a.format(tmp=tmp_path) for a in args)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    (tmp_path / "read_only").chmod(0o755)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], out.stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before, "a bad input wrote something"
    assert (tmp_path / "foreign" / "index.html").read_text() == "<html>not labkit's</html>"


def test_api_refuses_the_same_inputs_naming_them(tmp_path):
    from labkit.report.catalog import get_entry
    from labkit.report.folders import check_writable
    from labkit.report.runner import run_notebook
    from labkit.report.workshop import build

    with pytest.raises(ParameterError, match="'timeout'"):
        run_notebook(get_entry("tour"), profile="smoke", out=tmp_path, timeout=-1)
    with pytest.raises(UsageError, match="--binder-repo"):
        build(tmp_path / "ws", repo="not a repo")
    with pytest.raises(UsageError, match="--out"):
        check_writable("/dev/null/reports")
    with pytest.raises(ParameterError, match="'noise_std'"):
        run_notebook(get_entry("tour"), {"noise_std": float("nan")}, profile="smoke", out=tmp_path)
    assert not list(tmp_path.iterdir())
