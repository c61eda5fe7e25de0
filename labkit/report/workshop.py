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
import html
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat

from labkit.report.catalog import load_catalog
from labkit.report.folders import aside, check_replaceable, remove_stale, swap_into_place

ANSWER = re.compile(r"\*\*Answer\.?\*\*")
SECTION = re.compile(r"^##\s+(.+?)\s*\((\d+)\s*min\)\s*$", re.MULTILINE)


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def assigned_names(source: str) -> list[str]:
    """The top-level names a solution cell assigns: what the learner must compute."""
    names: list[str] = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
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
    return [(m.group(1), int(m.group(2))) for c in nb.cells if c.cell_type == "markdown" for m in SECTION.finditer(c.source)]


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
    from labkit.report.html import CSS

    body = []
    for r in rows:
        secs = "".join(f"<li>{html.escape(s)} — {m} min</li>" for s, m in r["sections"]) or "<li>(no timed sections)</li>"
        body.append(f"<tr><td><b>{html.escape(r['title'])}</b><br><code>{html.escape(r['id'])}</code></td>"
                    f"<td><ul>{secs}</ul></td><td>{r['total']} min</td><td>{r['exercises']}</td>"
                    f"<td><a href='student/{html.escape(r['notebook'])}'>student</a> · "
                    f"<a href='instructor/{html.escape(r['notebook'])}'>instructor</a> · "
                    f"<a href='{html.escape(r['binder'])}'>Binder</a></td></tr>")
    total = sum(r["total"] for r in rows)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>labkit workshop schedule</title>"
            f"<style>{CSS}</style></head><body><div class='lk-gallery'><h1>Workshop schedule</h1>"
            f"<p>{len(rows)} notebooks, {total} minutes of timed sections. Students open the student build; "
            f"instructors keep the instructor build, which holds the solutions and the folded answers.</p>"
            f"<table><tr><th>notebook</th><th>sections</th><th>time</th><th>exercises</th><th>open</th></tr>"
            f"{''.join(body)}</table></div></body></html>")


MARKER = ".labkit-workshop"


def build(out: str | Path = "workshop", repo: str | None = None, *, force: bool = False) -> Path:
    """Write ``out/student``, ``out/instructor`` and ``out/schedule.html`` (and ``schedule.md``).

    ``out`` may be missing, empty or a previous build (it holds the marker file ``.labkit-workshop``);
    anything else is refused unless ``force``, and the current, home, repository and notebooks
    folders (and those above them) never. The build is written aside and renamed into place.
    """
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


def add_parser(sub) -> None:
    p = sub.add_parser("workshop", help="build student and instructor notebooks and a schedule")
    wsub = p.add_subparsers(dest="workshop_command", required=True)
    b = wsub.add_parser("build", help="write student/, instructor/ and schedule.html")
    b.add_argument("--out", default="workshop")
    b.add_argument("--binder-repo", default=None, help="GitHub owner/name for Binder links (default: git origin)")
    b.add_argument("--force", action="store_true", help="replace an --out folder that labkit did not write")
    p.set_defaults(handler=_handle)


def _handle(args) -> int:
    out = build(args.out, args.binder_repo, force=args.force)
    print(f"workshop: {out / 'student'}, {out / 'instructor'}, {out / 'schedule.html'}")
    return 0


def checked_names(source: str) -> list[str]:
    """The learner's variables that a check cell passes to ``check_answer`` (its second argument)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "check_answer":
            if len(node.args) >= 2 and isinstance(node.args[1], ast.Name):
                names.append(node.args[1].id)
    return names


def rehearse(student_nb, instructor_nb, parameters: dict[str, Any] | None = None, cwd: str | Path = ".",
             timeout: int = 600) -> dict[str, int]:
    """Execute a student notebook as a learner would, and prove its exercises are sound.

    Each stub must raise ``NotImplementedError`` (and nothing else may raise); the instructor's
    solution then runs in its place; each check cell must pass on it and must fail (ExerciseFailed)
    when fed a wrong answer. Returns counts; raises AssertionError on the first violation.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    student = copy.deepcopy(student_nb)
    if parameters:  # inject them after the parameters cell, as papermill does
        at = next(i for i, c in enumerate(student.cells) if "parameters" in tags(c)) + 1
        source = "# Parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
        student.cells.insert(at, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]}))
    solutions = [c.source for c in instructor_nb.cells if "solution" in tags(c)]
    client = NotebookClient(student, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    counts = {"stubs": 0, "checks": 0, "wrong_answers_caught": 0}

    def run(source: str, index: int):
        client.execute_cell(nbformat.v4.new_code_cell(source), index)

    with client.setup_kernel():
        for index, cell in enumerate(student.cells):
            if cell.cell_type != "code":
                continue
            if "solution" in tags(cell):
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as exc:
                    if exc.ename != "NotImplementedError":
                        raise AssertionError(f"cell {index}: the stub raised {exc.ename}, not NotImplementedError") from None
                else:
                    raise AssertionError(f"cell {index}: the stub did not raise NotImplementedError")
                run(solutions[counts["stubs"]], index)
                counts["stubs"] += 1
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as exc:
                raise AssertionError(f"cell {index} failed with {exc.ename}: {exc.evalue}") from None
            if "check" in tags(cell):
                counts["checks"] += 1
                for name in checked_names(cell.source):
                    run(f"_lk_saved = {name}\nimport labkit.core.exercise as _lk_ex\n{name} = _lk_ex.wrong_answer_like({name})", index)
                    try:
                        client.execute_cell(copy.deepcopy(cell), index)
                    except CellExecutionError as exc:
                        if exc.ename != "ExerciseFailed":
                            raise AssertionError(f"cell {index}: a wrong {name} raised {exc.ename}, not ExerciseFailed") from None
                        counts["wrong_answers_caught"] += 1
                    else:
                        raise AssertionError(f"cell {index}: the check passed a wrong value of {name!r}")
                    finally:
                        run(f"{name} = _lk_saved", index)
    return counts
