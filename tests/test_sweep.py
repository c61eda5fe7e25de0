"""labkit sweep: a small grid of the tour on a two-worker LocalCluster, resuming after a kill, and
bad input answered with exit code 2 before anything starts."""
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

CLI = [sys.executable, "-m", "labkit.report.cli"]


def sweep(*args, **kw):
    return subprocess.run([*CLI, "sweep", "tour", *args], capture_output=True, text=True, timeout=600, **kw)


@pytest.mark.notebook
def test_sweep_on_two_workers_writes_a_summary(tmp_path):
    out = tmp_path / "sw"
    run = sweep("-g", "tau_m=10,20", "-g", "n_currents=8", "--seeds", "1", "--workers", "2", "--out", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    df = pd.read_parquet(out / "summary.parquet")
    assert len(df) == 2 and set(df["tau_m"]) == {10.0, 20.0} and (df["status"] == "ok").all()
    assert df["fi_max_rel_error"].notna().all()
    assert pd.read_csv(out / "summary.csv").shape == df.shape
    page = (out / "summary.html").read_text()
    assert "fi_max_rel_error against tau_m" in page and page.count('class="plotly-graph-div"') >= 1
    for slug in ("tau_m=10.0__n_currents=8__seed=0", "tau_m=20.0__n_currents=8__seed=0"):
        assert (out / "points" / slug / "tour" / "report.html").exists()


@pytest.mark.notebook
def test_killed_sweep_resumes_only_missing_points(tmp_path):
    out = tmp_path / "sw"
    args = ["-g", "tau_m=15,20,25", "--workers", "1", "--out", str(out)]
    proc = subprocess.Popen([*CLI, "sweep", "tour", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    first = out / "points" / "tau_m=15.0" / "tour" / "metrics.json"
    done = []
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        done = [p for p in (out / "points").glob("*/tour/metrics.json")] if (out / "points").exists() else []
        if done:
            break
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep, its Dask workers and their kernels
    proc.wait()
    assert done, "no point finished before the kill"
    assert len(done) < 3, "the sweep finished before it could be killed"
    stamps = {p: json.loads(p.read_text())["finished_at"] for p in done}
    rerun = sweep(*args)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"{len(done)} already finished, {3 - len(done)} to run" in rerun.stdout
    assert {p: json.loads(p.read_text())["finished_at"] for p in done} == stamps
    assert (pd.read_parquet(out / "summary.parquet")["status"] == "ok").all()
    assert first.exists()
    assert not list(out.glob("points/*/.tmp-*")), "the killed run's temporary folders were not cleaned up"


@pytest.mark.parametrize("args,fragment", [
    (["-g", "tau=1,2"], "grid name 'tau' is not a parameter of tour"),
    (["-g", "tau_m="], "grid name 'tau_m' has an empty value list"),
    (["-g", "tau_m=1,x"], "Parameter 'tau_m' must be a number"),
    (["-g", "tau_m=1,2", "--scheduler", "tcp://127.0.0.1:9"], "cannot be reached"),
])
def test_bad_sweep_input_exits_2_and_starts_nothing(tmp_path, args, fragment):
    run = sweep(*args, "--out", str(tmp_path / "sw"))
    assert run.returncode == 2 and fragment in run.stderr, run.stderr
    assert not (tmp_path / "sw").exists()
