"""The labkit command: listing, and bad input answered with one sentence, exit code 2, nothing written."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from labkit.report.catalog import load_catalog


def labkit(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "labkit.report.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_list_prints_every_entry():
    out = labkit("list")
    assert out.returncode == 0
    for entry in load_catalog():
        assert entry.id in out.stdout and entry.title in out.stdout


@pytest.mark.parametrize("args,fragment", [
    (["run", "no/such"], "unknown notebook id 'no/such'"),
    (["run", "tour", "-p", "n_curents", "4"], "Unknown parameter 'n_curents'"),
    (["run", "tour", "-p", "n_currents", "many"], "Parameter 'n_currents' must be an integer"),
    (["run", "tour", "-p", "n_currents", "2.5"], "Parameter 'n_currents' must be an integer"),
    (["run", "tour", "--profile", "smoke", "-p", "dt", "5.0"],
     "Parameter 'dt' must be a number in [0.0001, 1.0], got 5.0"),
])
def test_bad_input_exits_2_with_one_sentence_and_writes_nothing(tmp_path, args, fragment):
    out = labkit(*args, "--out", str(tmp_path / "reports"))
    assert out.returncode == 2, out.stderr
    assert fragment in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    written = list((tmp_path / "reports").rglob("*")) if (tmp_path / "reports").exists() else []
    assert not [p for p in written if p.name in ("metrics.json", "report.html", "index.html")]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_absent_device_exits_2(tmp_path):
    out = labkit("run", "tour", "-p", "device", "cuda", "--out", str(tmp_path))
    assert out.returncode == 2 and "no CUDA GPU" in out.stderr
    assert not list(Path(tmp_path).rglob("metrics.json"))
