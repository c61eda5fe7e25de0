"""``labkit sweep``: one notebook over a grid of parameters and seeds, in parallel on Dask.

Each point of the grid runs through the same runner as ``labkit run`` into its own report folder
(``<out>/points/<name=value__...>/<id>/``). A sweep is resumable: a point whose report finished
with status ``ok`` is not run again, so an interrupted sweep restarted with the same command runs
only what is missing. A point that fails is retried once, then shown as failed with its error.

Where it runs: a ``LocalCluster`` of ``--workers`` processes on this machine by default, or an
existing Dask scheduler (``--scheduler tcp://host:8786``), for instance one started on a cluster
with ``dask-jobqueue`` (see the README). Each point sets its thread counts (torch, OpenMP, BLAS) to
``--threads`` so points do not oversubscribe the cores, and a point on ``device=cuda`` takes one
GPU per worker.
"""
from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

from labkit.report.catalog import get_entry
from labkit.report.errors import SweepError
from labkit.report.folders import check_replaceable

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def parse_grid(entry, grid_args: list[str], seeds: int | None, profile: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Expand ``NAME=v1,v2`` arguments (and ``seeds``) into the list of points, each checked."""
    from labkit.report.parameters import (
        coerce_parameter,
        notebook_parameters,
        resolve_parameters,
    )

    defaults = notebook_parameters(entry.path)
    axes: dict[str, list[Any]] = {}
    for arg in grid_args:
        if "=" not in arg:
            raise SweepError(f"grid argument {arg!r} must look like NAME=v1,v2,...")
        name, _, values = arg.partition("=")
        name = name.strip()
        if name not in defaults:
            raise SweepError(f"grid name {name!r} is not a parameter of {entry.id}; it takes: {', '.join(defaults)}.")
        if name in axes:
            raise SweepError(f"grid name {name!r} is given twice.")
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not items:
            raise SweepError(f"grid name {name!r} has an empty value list; give NAME=v1,v2,...")
        axes[name] = [coerce_parameter(name, v, defaults[name]) for v in items]
    if not axes and not seeds:
        raise SweepError("a sweep needs at least one -g NAME=v1,v2 or --seeds N.")
    if seeds is not None:
        if seeds < 1:
            raise SweepError(f"--seeds must be a positive integer, got {seeds}.")
        if "seed" not in defaults:
            raise SweepError(f"{entry.id} has no 'seed' parameter, so --seeds cannot be used.")
        if "seed" in axes:
            raise SweepError("give seeds either with -g seed=... or with --seeds, not both.")
        axes["seed"] = list(range(seeds))
    names = list(axes)
    points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]
    for p in points:  # every point's parameters must be valid before anything starts
        resolve_parameters(entry, profile, p)
    return names, points


def point_slug(point: dict[str, Any]) -> str:
    text = "__".join(f"{k}={v}" for k, v in point.items())
    return re.sub(r"[^A-Za-z0-9_.=+-]", "-", text)


def _finished(folder: Path, entry_id: str) -> dict | None:
    mfile = folder / entry_id / "metrics.json"
    if mfile.exists():
        m = json.loads(mfile.read_text())
        if m.get("status") == "ok":
            return m
    return None


def run_point(entry_id: str, point: dict[str, Any], profile: str, folder: str, threads: int) -> dict:
    """Run one grid point on a worker (retrying a failure once); returns its metrics.json content."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    os.environ["LABKIT_PROGRESS"] = "0"
    if str(point.get("device", "")).startswith("cuda"):
        try:  # one GPU per worker: LocalCluster names its workers 0, 1, ...
            import torch
            from distributed import get_worker

            n = torch.cuda.device_count()
            if n and ":" not in point["device"]:
                os.environ["CUDA_VISIBLE_DEVICES"] = str(int(get_worker().name) % n)
        except (ValueError, ImportError):
            pass
    from labkit.core.threads import set_threads
    from labkit.report.runner import run_notebook

    set_threads(threads)

    entry = get_entry(entry_id)
    for attempt in (1, 2):
        result = run_notebook(entry, point, profile=profile, out=folder)
        metrics = json.loads((result.folder / "metrics.json").read_text())
        metrics["attempts"] = attempt
        if result.ok:
            break
    return metrics


def connect(scheduler: str | None, workers: int, threads: int):
    """A Dask client: to ``scheduler`` if given (unreachable -> SweepError), else a LocalCluster."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="5s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SweepError(f"the Dask scheduler {scheduler!r} cannot be reached ({type(exc).__name__}).") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    return Client(cluster)


def sweep_ok(folder: Path) -> bool:
    """Whether every point of the sweep written to ``folder`` finished ok."""
    import pandas as pd

    return bool((pd.read_parquet(folder / "summary.parquet")["status"] == "ok").all())


def sweep(entry_id: str, grid_args: list[str], *, seeds: int | None = None, profile: str = "smoke",
          out: str | Path | None = None, scheduler: str | None = None, workers: int = 2, threads: int = 1) -> Path:
    """Run (or resume) a sweep; return the folder holding ``summary.csv``, ``.parquet`` and ``.html``."""
    from distributed import as_completed

    from labkit.core.progress import progress

    entry = get_entry(entry_id)
    if workers < 1:
        raise SweepError(f"--workers must be a positive integer, got {workers}.")
    if threads < 1:
        raise SweepError(f"--threads must be a positive integer, got {threads}.")
    names, points = parse_grid(entry, grid_args, seeds, profile)
    # A new or empty folder, or a sweep's own (its points/), which the sweep resumes.
    out = check_replaceable(out or Path("sweeps") / entry.id.replace("/", "__"), "points")
    todo = [p for p in points if _finished(out / "points" / point_slug(p), entry.id) is None]
    print(f"sweep {entry.id}: {len(points)} points, {len(points) - len(todo)} already finished, {len(todo)} to run")
    if todo:
        client = connect(scheduler, workers, threads)
        try:
            futures = {}
            for p in todo:
                gpu = {"GPU": 1} if scheduler and str(p.get("device", "")).startswith("cuda") else None
                futures[client.submit(run_point, entry.id, p, profile, str(out / "points" / point_slug(p)), threads,
                                      pure=False, resources=gpu)] = p
            for fut in progress(as_completed(futures), total=len(futures), desc=f"sweep {entry.id}"):
                m = fut.result()
                error = f" ({m['error']})" if m["error"] else ""
                print(f"  {point_slug(futures[fut])}: {m['status']}{error}", flush=True)
        finally:
            client.close()
            if not scheduler and client.cluster is not None:
                client.cluster.close()
    return write_summary(entry, names, points, out)


def write_summary(entry, names: list[str], points: list[dict[str, Any]], out: Path) -> Path:
    """Tables (CSV, parquet) of parameters x recorded numbers, and an HTML page of figures."""
    import pandas as pd

    from labkit.report.sweep_page import summary_page

    rows = []
    for p in points:
        mfile = out / "points" / point_slug(p) / entry.id / "metrics.json"
        row: dict[str, Any] = dict(p)
        if mfile.exists():
            m = json.loads(mfile.read_text())
            row.update({"status": m["status"], "error": m.get("error"), "duration_s": m.get("duration_s")})
            row.update({k: v for k, v in m.get("metrics", {}).items() if k not in names})
        else:
            row.update({"status": "not run", "error": None, "duration_s": None})
        rows.append(row)
    df = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    writers = {"csv": lambda f: df.to_csv(f, index=False), "parquet": lambda f: df.to_parquet(f, index=False),
               "html": lambda f: Path(f).write_text(summary_page(entry, names, df))}
    for suffix, write in writers.items():
        tmp = out / f".summary.{suffix}.tmp"
        write(tmp)
        os.replace(tmp, out / f"summary.{suffix}")
    print(f"summary: {out / 'summary.html'} ({int((df['status'] == 'ok').sum())}/{len(df)} points ok)")
    return out
