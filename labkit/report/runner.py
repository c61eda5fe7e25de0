"""Run one catalog notebook with papermill into a report folder, atomically.

A run writes, under ``<out>/<id>/``: the executed notebook, a self-contained offline HTML page
(``report.html``), and ``metrics.json`` (recorded numbers, parameters, status, duration, device,
labkit version, git commit, checks). Everything is written into a hidden folder beside the target
and renamed into place at the end, so an interrupted run never leaves a report that looks complete.
A bad parameter raises :class:`~labkit.core.params.ParameterError` and writes nothing.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.core.params import ParameterError, check_value
from labkit.report.catalog import Entry
from labkit.report.folders import (
    aside,
    check_replaceable,
    remove_stale,
    swap_into_place,
)
from labkit.report.html import export_html
from labkit.report.parameters import resolve_parameters

DEFAULT_OUT = Path("reports")


@dataclass
class RunResult:
    id: str
    status: str
    duration_s: float
    folder: Path
    error: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _quiet_kernel_manager(log_path: Path):
    """A kernel manager whose kernel writes its own stderr (start-up warnings) to a log file."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            kw.setdefault("stderr", open(log_path, "ab"))
            return await super().start_kernel(**kw)

    return QuietKernelManager


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, default=str, allow_nan=True))


def data_source(params: dict[str, Any]) -> str:
    """``"simulated"``, or the file names of a user's recording (the ``nwb_path`` parameter of the neuro notebooks),
    on which the checks that need the ground truth do not apply."""
    path = str(params.get("nwb_path") or "")
    return ", ".join(Path(p.strip()).name for p in path.split(",") if p.strip()) or "simulated"


def report_folder(entry: Entry, out: str | Path = DEFAULT_OUT) -> Path:
    """``out/<id>``, if a run may write it there: a missing or empty folder, or a previous report."""
    return check_replaceable(Path(out) / entry.id, "metrics.json")


def run_notebook(entry: Entry, overrides: dict[str, Any] | None = None, *, profile: str = "default",
                 out: str | Path = DEFAULT_OUT, progress_bar: bool = False, timeout: int | None = None) -> RunResult:
    """Execute ``entry``'s notebook into ``out/<id>/`` and return what happened."""
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from labkit.core.version import __version__

    if timeout is not None:
        check_value("timeout", timeout, (int, 1, None), "run_notebook")
    params = resolve_parameters(entry, profile, overrides or {})
    final = report_folder(entry, out).resolve()  # papermill changes the working directory while it runs
    remove_stale(final)
    tmp = aside(final)
    recorded_file = tmp / "recorded.json"
    env_before = {k: os.environ.get(k) for k in ("LABKIT_METRICS", "LABKIT_REPORT")}
    os.environ["LABKIT_METRICS"] = str(recorded_file.resolve())
    os.environ["LABKIT_REPORT"] = "1"
    start = time.perf_counter()
    error = None
    try:
        try:
            pm.execute_notebook(str(entry.path), str(tmp / "notebook.ipynb"), parameters=params,
                                kernel_name="python3", progress_bar=progress_bar, log_output=False,
                                cwd=str(entry.path.parent), execution_timeout=timeout,
                                kernel_manager_class=_quiet_kernel_manager(tmp / "kernel.log"))
        except PapermillExecutionError as exc:
            if exc.ename == "ParameterError":
                shutil.rmtree(tmp, ignore_errors=True)
                raise ParameterError(exc.evalue) from None
            error = f"{exc.ename}: {exc.evalue}"
        except Exception as exc:  # a kernel that died, a timeout
            error = f"{type(exc).__name__}: {exc}"
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    duration = time.perf_counter() - start
    recorded = {"metrics": {}, "meta": {}}
    if recorded_file.exists():
        recorded = json.loads(recorded_file.read_text())
        recorded_file.unlink()
    kernel_log = tmp / "kernel.log"
    if kernel_log.exists() and error is None:
        kernel_log.unlink()
    source = data_source(params)
    checks = [c.evaluate(recorded["metrics"], simulated=source == "simulated") for c in entry.checks]
    failed = [c for c in checks if c["applies"] and not c["passed"]]
    if error is None and failed:
        error = "checks failed: " + ", ".join(
            f"{c['name']} = {c['value']!r} (needs {c['op']} {c['threshold']})" for c in failed)
    status = "ok" if error is None else "failed"
    metrics = {
        "id": entry.id, "title": entry.title, "track": entry.track, "status": status, "error": error,
        "profile": profile, "data_source": source, "parameters": params, "metrics": recorded["metrics"],
        "checks": checks,
        "duration_s": round(duration, 2), "device": recorded["meta"].get("device", "unknown"),
        "labkit_version": __version__, "git_commit": git_commit(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    nb_path = tmp / "notebook.ipynb"
    if nb_path.exists():
        nb = nbformat.read(nb_path, as_version=4)
        (tmp / "report.html").write_text(export_html(nb, metrics, entry))
    else:
        (tmp / "report.html").write_text(export_html(None, metrics, entry))
    _write_json(tmp / "metrics.json", metrics)
    swap_into_place(tmp, final)
    return RunResult(entry.id, status, duration, final, error, checks, recorded["metrics"])
