"""The ``labkit`` command: list the catalog, run notebooks as reports, sweep, build workshops.

Every subcommand's parser is here; each calls plain functions of ``runner``, ``sweep``,
``workshop``, ``html`` and ``labkit.data.nwb`` (``labkit nwb FILE``), imported when the subcommand
runs, so ``labkit --help``, ``labkit list``
and a usage error answer without importing torch, nbformat or papermill.

Bad input (an unknown id or parameter, a value of the wrong type or out of range, a device that is
not there, an output folder that cannot be written or is not labkit's) prints one sentence naming
it and exits with code 2, writing nothing.
"""
from __future__ import annotations

import argparse
import sys

from labkit.core.params import ParameterError
from labkit.report.errors import CatalogError, UsageError

PROFILES = ["smoke", "default", "full", "control"]


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (``labkit: error: ...``) and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"labkit: error: {message}\n")


def _count(text: str) -> int:
    """A command-line integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="labkit", description="A lab in notebooks for studying neurons.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the catalog of notebooks").set_defaults(handler=cmd_list)

    run = sub.add_parser("run", help="execute notebooks as reports")
    run.add_argument("ids", nargs="+", metavar="ID", help="a catalog id (track/name), or 'all'")
    run.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="set a notebook parameter (repeatable)")
    run.add_argument("--profile", default="default", choices=PROFILES)
    run.add_argument("--out", default="reports", help="report folder (default: reports)")
    run.add_argument("--timeout", type=_count, default=None, help="seconds allowed per cell")
    run.set_defaults(handler=cmd_run)

    gal = sub.add_parser("gallery", help="rebuild reports/index.html from finished runs")
    gal.add_argument("--out", default="reports")
    gal.set_defaults(handler=cmd_gallery)

    sw = sub.add_parser("sweep", help="run a notebook over a grid of parameters and seeds, on Dask")
    sw.add_argument("id", help="a catalog id")
    sw.add_argument("-g", "--grid", action="append", default=[], metavar="NAME=v1,v2,...", help="a swept parameter")
    sw.add_argument("--seeds", type=_count, default=None, help="also sweep seed over 0..N-1")
    sw.add_argument("--profile", default="smoke", choices=PROFILES,
                    help="base parameters of every point (default: smoke)")
    where = sw.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    where.add_argument("--workers", type=_count, default=2, help="LocalCluster worker processes (default 2)")
    sw.add_argument("--threads", type=_count, default=1, help="CPU threads per point (default 1)")
    sw.add_argument("--out", default=None, help="sweep folder (default sweeps/<id>)")
    sw.set_defaults(handler=cmd_sweep)

    nw = sub.add_parser("nwb", help="describe what an NWB file holds that labkit can use")
    nw.add_argument("path", help="an NWB file")
    nw.set_defaults(handler=cmd_nwb)

    ws = sub.add_parser("workshop", help="build student and instructor notebooks and a schedule")
    wsub = ws.add_subparsers(dest="workshop_command", required=True)
    build = wsub.add_parser("build", help="write student/, instructor/ and schedule.html")
    build.add_argument("ids", nargs="*", metavar="ID", help="notebook ids (default: every notebook in the catalog)")
    build.add_argument("--out", default="workshop")
    build.add_argument("--binder-repo", default=None, help="GitHub owner/name for Binder links (default: git origin)")
    build.add_argument("--force", action="store_true", help="replace an --out folder that labkit did not write")
    build.add_argument("--nbgrader", action="store_true",
                       help="also write an nbgrader course: source/<assignment>/<notebook>.ipynb, nbgrader_config.py")
    build.set_defaults(handler=cmd_workshop_build)
    return p


def cmd_list(args) -> int:
    from labkit.report.catalog import load_catalog

    entries = load_catalog()
    w_id = max(len(e.id) for e in entries)
    w_tr = max(len(e.track) for e in entries)
    print(f"{'id':<{w_id}}  {'track':<{w_tr}}  title")
    for e in entries:
        print(f"{e.id:<{w_id}}  {e.track:<{w_tr}}  {e.title}")
    return 0


def _absolute_paths(text: str) -> str:
    """A comma-separated list of paths with each made absolute from the current folder."""
    from pathlib import Path

    return ",".join(str(Path(p.strip()).expanduser().absolute()) for p in str(text).split(",") if p.strip())


def cmd_run(args) -> int:
    from labkit.report.catalog import get_entry, load_catalog
    from labkit.report.html import gallery_index, write_gallery
    from labkit.report.parameters import resolve_parameters
    from labkit.report.runner import report_folder, run_notebook

    entries = load_catalog() if args.ids == ["all"] else [get_entry(i) for i in args.ids]
    overrides = {}
    for name, value in args.param:
        if name in overrides:
            raise UsageError(f"parameter {name!r} is given twice.")
        overrides[name] = value
    if overrides.get("nwb_path"):  # the kernel runs in the notebook's folder: the user's relative paths, made absolute
        from labkit.data.nwb.read import check_file

        overrides["nwb_path"] = _absolute_paths(overrides["nwb_path"])
        for path in overrides["nwb_path"].split(","):
            check_file(path, "nwb_path")
    if "device" in overrides:
        from labkit.core.device import resolve_device

        try:
            resolve_device(str(overrides["device"]))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    # Check every notebook's parameters and report folder before running any of them.
    for e in entries:
        resolve_parameters(e, args.profile, overrides)
        report_folder(e, args.out)
    gallery_index(args.out)
    failures = 0
    for i, e in enumerate(entries, 1):
        note = " (it has no full profile: its defaults)" if args.profile == "full" and "full" not in e.profiles else ""
        print(f"[{i}/{len(entries)}] {e.id} ({args.profile}{note}) ...", flush=True)
        result = run_notebook(e, overrides, profile=args.profile, out=args.out, progress_bar=sys.stderr.isatty(),
                              timeout=args.timeout)
        mark = "ok" if result.ok else "FAILED"
        print(f"[{i}/{len(entries)}] {e.id}: {mark} in {result.duration_s:.1f} s -> {result.folder / 'report.html'}",
              flush=True)
        for c in result.checks:
            mark = "n/a " if c.get("applies") is False else ("pass" if c["passed"] else "FAIL")
            print(f"    {mark}  {c['name']} = {c['value']!r} ({c['op']} {c['threshold']})")
        if not result.ok:
            failures += 1
            print(f"    error: {result.error}", file=sys.stderr)
    print(f"gallery: {write_gallery(args.out)}")
    return 1 if failures else 0


def cmd_gallery(args) -> int:
    from labkit.report.html import write_gallery

    print(write_gallery(args.out))
    return 0


def cmd_nwb(args) -> int:
    from labkit.data.nwb import describe

    rows = describe(args.path)
    width = max(len(k) for k, _ in rows)
    for key, text in rows:
        print(f"{key:<{width}}  {text}")
    return 0


def cmd_sweep(args) -> int:
    from labkit.report.sweep import sweep, sweep_ok

    folder = sweep(args.id, args.grid, seeds=args.seeds, profile=args.profile, out=args.out,
                   scheduler=args.scheduler, workers=args.workers, threads=args.threads)
    return 0 if sweep_ok(folder) else 1


def cmd_workshop_build(args) -> int:
    from labkit.report.workshop import build

    out = build(args.out, args.binder_repo, ids=args.ids, force=args.force, nbgrader=args.nbgrader)
    print(f"workshop: {out / 'student'}, {out / 'instructor'}, {out / 'schedule.html'}"
          + (f"; nbgrader course: {out / 'source'} (cd {out} and run `nbgrader generate_assignment <assignment>`)"
             if args.nbgrader else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except (UsageError, CatalogError, ParameterError) as exc:
        print(f"labkit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
