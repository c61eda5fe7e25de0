"""The ``labkit`` command: list the catalog, run notebooks as reports, sweep, build workshops.

Bad input (an unknown id or parameter, a value of the wrong type or out of range, a device that is
not there) prints one sentence naming it and exits with code 2, writing nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from labkit.core.params import ParameterError
from labkit.report.catalog import CatalogError, get_entry, load_catalog
from labkit.report.errors import UsageError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="labkit", description="A lab in notebooks for studying neurons.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the catalog of notebooks")

    run = sub.add_parser("run", help="execute notebooks as reports")
    run.add_argument("ids", nargs="+", metavar="ID", help="a catalog id (track/name), or 'all'")
    run.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="set a notebook parameter (repeatable)")
    run.add_argument("--profile", default="default", choices=["smoke", "default", "full"])
    run.add_argument("--out", default="reports", help="report folder (default: reports)")
    run.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell")

    gal = sub.add_parser("gallery", help="rebuild reports/index.html from finished runs")
    gal.add_argument("--out", default="reports")

    from labkit.report import sweep as sweep_mod, workshop as workshop_mod

    sweep_mod.add_parser(sub)
    workshop_mod.add_parser(sub)
    return p


def cmd_list() -> int:
    entries = load_catalog()
    w_id = max(len(e.id) for e in entries)
    w_tr = max(len(e.track) for e in entries)
    print(f"{'id':<{w_id}}  {'track':<{w_tr}}  title")
    for e in entries:
        print(f"{e.id:<{w_id}}  {e.track:<{w_tr}}  {e.title}")
    return 0


def cmd_run(args) -> int:
    from labkit.report.html import gallery_index, write_gallery
    from labkit.report.runner import report_folder, resolve_parameters, run_notebook

    entries = load_catalog() if args.ids == ["all"] else [get_entry(i) for i in args.ids]
    overrides = {}
    for name, value in args.param:
        if name in overrides:
            raise UsageError(f"parameter {name!r} is given twice.")
        overrides[name] = value
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
            print(f"    {'pass' if c['passed'] else 'FAIL'}  {c['name']} = {c['value']!r} ({c['op']} {c['threshold']})")
        if not result.ok:
            failures += 1
            print(f"    error: {result.error}", file=sys.stderr)
    index = write_gallery(args.out)
    print(f"gallery: {index}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list()
        if args.command == "run":
            return cmd_run(args)
        if args.command == "gallery":
            from labkit.report.html import write_gallery

            print(write_gallery(args.out))
            return 0
        return args.handler(args)
    except (UsageError, ParameterError, CatalogError) as exc:
        print(f"labkit: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
