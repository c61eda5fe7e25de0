"""``labkit workshop build --nbgrader``: the workshop's exercises as an nbgrader course source tree.

A teacher who grades with nbgrader (https://nbgrader.readthedocs.io) gets, beside ``student/`` and
``instructor/``, the course folder nbgrader expects::

    nbgrader_config.py
    source/<assignment>/<notebook>.ipynb      one assignment per notebook (``neuro/switching_glm`` ->
                                              ``neuro_switching_glm``)

In each source notebook, following nbgrader's cell metadata (schema version 3):

- a ``solution`` cell becomes an *autograded answer* (``solution: true``): its leading comments and a line
  naming what to compute stay visible, and its code sits between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``, which ``nbgrader generate_assignment`` replaces with ``raise NotImplementedError()``;
- its ``check`` cell becomes an *autograded test* (``grade: true``, ``locked: true``, read-only), worth as
  many points as the exercise's difficulty (its red dots), so a harder exercise counts for more;
- a ``think`` prompt keeps its question only (nbgrader would hand a folded answer to the students): the
  answers stay in ``instructor/``.

Then ``cd <out> && nbgrader generate_assignment tour`` writes ``release/``, and ``nbgrader autograde``
scores the submissions by running the checks.
"""
from __future__ import annotations

import copy

from labkit.report.headers import Plan

SCHEMA_VERSION = 3
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# The notebooks' default profiles run for minutes, and nbgrader's default cell timeout is 30 s.
CONFIG = '''"""nbgrader configuration of a labkit workshop (written by `labkit workshop build --nbgrader`)."""
c = get_config()  # noqa: F821  (nbgrader defines it)

# Run nbgrader from this folder, the course root: source/ holds the assignments, and nbgrader writes
# release/, submitted/, autograded/, feedback/ and gradebook.db beside it.

# labkit notebooks run their default profile, which takes minutes on a laptop CPU: give each cell time.
c.Execute.timeout = 1800
'''


def assignment_name(notebook_id: str) -> str:
    """nbgrader's assignment name for a catalog id: ``neuro/switching_glm`` -> ``neuro_switching_glm``."""
    return notebook_id.replace("/", "_")


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
          points: int | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def solution_source(source: str, number: int, todo: str) -> str:
    """Leading comments outside the solution region, the code inside it (nbgrader's markers)."""
    lines = source.strip("\n").splitlines()
    n_lead = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.strip().startswith("#")), len(lines))
    return "\n".join([*lines[:n_lead], f"# Exercise {number}: compute {todo}, then run the check below.",
                      BEGIN, *lines[n_lead:], END])


def nbgrader_notebook(nb, plan: Plan):
    """The nbgrader source version of a labkit notebook whose headers are ``plan`` (already checked)."""
    from labkit.report.workshop import assigned_names, build_notebook, tags

    out = build_notebook(copy.deepcopy(nb), "student")       # think prompts without their answers
    solutions = [i for i, c in enumerate(nb.cells) if "solution" in tags(c) and c.cell_type == "code"]
    for number, (i, exercise) in enumerate(zip(solutions, plan.exercises, strict=True), 1):
        todo = ", ".join(f"`{n}`" for n in assigned_names(nb.cells[i].source)) or "the result"
        out.cells[i].source = solution_source(nb.cells[i].source, number, todo)
        out.cells[i].metadata["nbgrader"] = _meta(f"exercise{number}_solution", solution=True)
        out.cells[i + 1].metadata["nbgrader"] = _meta(f"exercise{number}_check", grade=True, locked=True,
                                                      points=exercise.difficulty)
    out.metadata["labkit_workshop"] = {"role": "nbgrader", "exercises": len(solutions),
                                       "points": sum(e.difficulty for e in plan.exercises)}
    return out
