"""``labkit workshop build``: student and instructor notebooks from the same sources, and a schedule.

Conventions in the source notebooks (see CONTRIBUTING.md):

- a code cell tagged ``solution`` holds reference code; the student build replaces it with a stub
  that names what to compute and raises ``NotImplementedError``;
- the cell after it, tagged ``check``, calls :func:`labkit.check_answer`, which compares the learner's
  value with an independent reference and prints a pass or raises with a hint;
- a markdown cell tagged ``think`` is a discussion prompt; the part after ``**Answer.**`` is folded
  away (``<details>``) in the instructor build and removed from the student build;
- section headings carry an estimated time: ``## The union property (15 min)``;
- each exercise's markdown cell starts with its header (difficulty, importance, minutes) and the title
  cell ends with what the learner will learn and the total time (:mod:`labkit.report.headers`); the
  schedule shows them, and a notebook that breaks the convention is refused before anything is written.

``--nbgrader`` adds an nbgrader course source tree (:mod:`labkit.report.nbgrader_export`).
"""
from __future__ import annotations

import ast
import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat

from labkit.report.catalog import get_entry, load_catalog
from labkit.report.errors import UsageError
from labkit.report.folders import (
    aside,
    check_replaceable,
    remove_stale,
    swap_into_place,
)
from labkit.report.headers import plan

ANSWER = re.compile(r"\*\*Answer\.?\*\*")
REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
SECTION = re.compile(r"^##\s+(.+?)\s*\((\d+)\s*min\)\s*$", re.MULTILINE)


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def assigned_names(source: str) -> list[str]:
    """The top-level names a solution cell assigns: what the learner must compute."""
    names: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        else:
            targets = [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name) and n.id not in names:
                    names.append(n.id)
    return names


def stub(cell, number: int) -> str:
    """The student's version of a solution cell: its leading comments, then a stub to fill in."""
    lines = cell.source.splitlines()
    comments = [ln for ln in lines if ln.strip().startswith("#")]
    names = assigned_names(cell.source)
    todo = ", ".join(f"`{n}`" for n in names) or "the result"
    body = [*comments, f"# Exercise {number}: compute {todo}, then run the check below.",
            *(f"{n} = ..." for n in names),
            f'raise NotImplementedError("Exercise {number}: replace the ... above with your code.")']
    return "\n".join(body)


def split_answer(source: str) -> tuple[str, str]:
    m = ANSWER.search(source)
    return (source, "") if m is None else (source[: m.start()].rstrip(), source[m.end():].strip())


def build_notebook(nb, role: str):
    """The ``student`` or ``instructor`` version of a source notebook."""
    nb = copy.deepcopy(nb)
    number = 0
    for cell in nb.cells:
        if "solution" in tags(cell) and cell.cell_type == "code":
            number += 1
            if role == "student":
                cell.source = stub(cell, number)
        elif "think" in tags(cell) and cell.cell_type == "markdown":
            prompt, answer = split_answer(cell.source)
            if not answer:
                continue
            cell.source = prompt if role == "student" else (
                f"{prompt}\n\n<details><summary><b>Answer</b> (instructor)</summary>\n\n{answer}\n\n</details>")
    nb.metadata["labkit_workshop"] = {"role": role, "exercises": number}
    return nb


def sections(nb) -> list[tuple[str, int]]:
    return [(m.group(1), int(m.group(2)))
            for c in nb.cells if c.cell_type == "markdown" for m in SECTION.finditer(c.source)]


def binder_repo() -> str:
    try:
        url = subprocess.run(["git", "remote", "get-url", "origin"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        url = ""
    m = re.search(r"github\.com[:/]([^/]+/[^/.]+)", url)
    return m.group(1) if m else "labkit/labkit"


def binder_link(repo: str, path: str) -> str:
    return f"https://mybinder.org/v2/gh/{repo}/HEAD?urlpath=lab/tree/{path}"


def inline_markdown(text: str):
    """``**bold**``, ``*italic*`` and ```code``` of a one-line markdown text as safe HTML (the rest escaped)."""
    from markupsafe import Markup, escape

    html = str(escape(text))
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html)
    return Markup(re.sub(r"\*(\S(?:.*?\S)?)\*", r"<i>\1</i>", html))


def schedule_html(rows: list[dict[str, Any]]) -> str:
    from labkit.report.html import render_page

    return render_page("schedule.html.j2", rows=[{**r, "learn": inline_markdown(r["learn"])} for r in rows])


MARKER = ".labkit-workshop"
# What nbgrader writes into a course folder once a teacher uses it: grades and students' work.
NBGRADER_WORK = ("gradebook.db", "release", "submitted", "autograded", "feedback", "feedback_generated")


def check_no_grading_work(out: Path, force: bool) -> None:
    """Refuse to replace a previous build in which nbgrader has since kept grades or submissions."""
    work = [name for name in NBGRADER_WORK if (out / name).exists()] if (out / MARKER).exists() else []
    if work and not force:
        raise UsageError(f"--out {str(out)!r} holds what nbgrader wrote after the previous build ({', '.join(work)}: "
                         "grades, releases or students' work); choose a new folder, or pass --force to replace it.")


def build(out: str | Path = "workshop", repo: str | None = None, *, ids: list[str] | None = None,
          force: bool = False, nbgrader: bool = False) -> Path:
    """Write ``out/student``, ``out/instructor`` and ``out/schedule.html`` (and ``schedule.md``); with
    ``nbgrader``, also ``out/source/<assignment>/<notebook>.ipynb`` and ``out/nbgrader_config.py``.

    ``ids`` picks catalog notebooks (default: all). ``out`` may be missing, empty or a previous build (it
    holds the marker file ``.labkit-workshop``, and no grades or submissions nbgrader wrote since);
    anything else is refused unless ``force``, and the current, home, repository and notebooks folders
    (and those above them) never. Every notebook's exercises are checked before anything is written; the
    build is written aside and renamed into place.
    """
    from labkit.report.nbgrader_export import CONFIG, assignment_name, nbgrader_notebook

    if repo is not None and not REPO.fullmatch(repo):
        raise UsageError(f"--binder-repo must be a GitHub owner/name such as 'labkit/labkit', got {repo!r}.")
    entries = load_catalog() if not ids else [get_entry(i) for i in dict.fromkeys(ids)]
    sources = [(entry, nbformat.read(entry.path, as_version=4)) for entry in entries]
    plans = [plan(nb, entry.notebook) for entry, nb in sources]     # HeaderError before anything is written
    out = check_replaceable(out, MARKER, force=force)
    check_no_grading_work(out, force)
    remove_stale(out)
    tmp = aside(out)
    try:
        repo = repo or binder_repo()
        rows = []
        for (entry, nb), p in zip(sources, plans):
            for role in ("student", "instructor"):
                target = tmp / role / entry.notebook
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(build_notebook(nb, role), target)
            if nbgrader and p is not None:
                target = tmp / "source" / assignment_name(entry.id) / Path(entry.notebook).name
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nbgrader_notebook(nb, p), target)
            secs = sections(nb)
            rows.append({"id": entry.id, "title": entry.title, "notebook": entry.notebook, "sections": secs,
                         "total": p.minutes if p else sum(m for _, m in secs),
                         "learn": p.learn if p else "", "exercises": p.exercises if p else [],
                         "exercise_minutes": p.exercise_minutes if p else 0,
                         "assignment": assignment_name(entry.id) if nbgrader and p else None,
                         "binder": binder_link(repo, f"workshop/student/{entry.notebook}")})
        if nbgrader:
            (tmp / "nbgrader_config.py").write_text(CONFIG)
        (tmp / "schedule.html").write_text(schedule_html(rows))
        (tmp / "schedule.md").write_text(schedule_md(rows))
        (tmp / MARKER).write_text("A workshop built by `labkit workshop build`; a new build replaces this folder.\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_into_place(tmp, out)
    return out


def schedule_md(rows: list[dict[str, Any]]) -> str:
    md = ["# Workshop schedule", ""]
    for r in rows:
        md.append(f"## {r['title']} (`{r['id']}`) — about {r['total']} min, {len(r['exercises'])} exercises "
                  f"({r['exercise_minutes']} min)")
        if r["learn"]:
            md += [f"You will learn {r['learn']}.", ""]
        md += [f"- Exercise {e.number}: {e.title} — {' · '.join(e.dots)} · {e.minutes} min" for e in r["exercises"]]
        md += [f"- {s}: {m} min" for s, m in r["sections"]] + [f"- [Open on Binder]({r['binder']})", ""]
    return "\n".join(md)
