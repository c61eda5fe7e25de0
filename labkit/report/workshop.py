"""``labkit workshop build``: student and instructor notebooks from the same sources, and a schedule.

Conventions in the source notebooks (see CONTRIBUTING.md):

- a code cell tagged ``solution`` holds reference code; the student build replaces it with a stub
  that names what to compute and raises ``NotImplementedError``;
- the cell after it, tagged ``check``, calls :func:`labkit.check_answer`, which compares the learner's
  value with an independent reference and prints a pass or raises with a hint;
- a markdown cell tagged ``think`` is a discussion prompt; the part after ``**Answer.**`` is folded
  away (``<details>``) in the instructor build and removed from the student build;
- section headings carry an estimated time: ``## The union property (15 min)``.
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

from labkit.report.catalog import load_catalog
from labkit.report.errors import UsageError
from labkit.report.folders import (
    aside,
    check_replaceable,
    remove_stale,
    swap_into_place,
)

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


def schedule_html(rows: list[dict[str, Any]]) -> str:
    from labkit.report.html import render_page

    return render_page("schedule.html.j2", rows=rows)


MARKER = ".labkit-workshop"


def build(out: str | Path = "workshop", repo: str | None = None, *, force: bool = False) -> Path:
    """Write ``out/student``, ``out/instructor`` and ``out/schedule.html`` (and ``schedule.md``).

    ``out`` may be missing, empty or a previous build (it holds the marker file ``.labkit-workshop``);
    anything else is refused unless ``force``, and the current, home, repository and notebooks
    folders (and those above them) never. The build is written aside and renamed into place.
    """
    if repo is not None and not REPO.fullmatch(repo):
        raise UsageError(f"--binder-repo must be a GitHub owner/name such as 'labkit/labkit', got {repo!r}.")
    out = check_replaceable(out, MARKER, force=force)
    remove_stale(out)
    tmp = aside(out)
    try:
        repo = repo or binder_repo()
        rows = []
        for entry in load_catalog():
            nb = nbformat.read(entry.path, as_version=4)
            for role in ("student", "instructor"):
                target = tmp / role / entry.notebook
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(build_notebook(nb, role), target)
            secs = sections(nb)
            rows.append({"id": entry.id, "title": entry.title, "notebook": entry.notebook, "sections": secs,
                         "total": sum(m for _, m in secs),
                         "exercises": sum(1 for c in nb.cells if "solution" in tags(c)),
                         "binder": binder_link(repo, f"workshop/student/{entry.notebook}")})
        (tmp / "schedule.html").write_text(schedule_html(rows))
        md = ["# Workshop schedule", ""]
        for r in rows:
            md.append(f"## {r['title']} (`{r['id']}`) — {r['total']} min, {r['exercises']} exercises")
            md += [f"- {s}: {m} min" for s, m in r["sections"]] + [f"- [Open on Binder]({r['binder']})", ""]
        (tmp / "schedule.md").write_text("\n".join(md))
        (tmp / MARKER).write_text("A workshop built by `labkit workshop build`; a new build replaces this folder.\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_into_place(tmp, out)
    return out
