"""The workshop rehearsal: a student build executed as a learner would, proving its exercises sound.

Used by the tests (``tests/test_workshop.py``), not by the ``labkit`` command: each stub must raise
``NotImplementedError``, the instructor's solution then runs in its place, and each check cell must
pass on it and fail (``ExerciseFailed``) when fed a wrong answer.
"""
from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import nbformat

from labkit.report.workshop import tags


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

    The rehearsal stops after the last exercise or check cell: every code cell after it is the source's
    own code, unchanged by the build, which the smoke report (``tests/test_notebooks.py``) executes.
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

    last = max((i for i, c in enumerate(student.cells) if {"solution", "check"} & set(tags(c))), default=-1)
    with client.setup_kernel():
        for index, cell in enumerate(student.cells[: last + 1]):
            if cell.cell_type != "code":
                continue
            if "solution" in tags(cell):
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as exc:
                    if exc.ename != "NotImplementedError":
                        raise AssertionError(f"cell {index}: the stub raised {exc.ename}, "
                                             "not NotImplementedError") from None
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
                    run(f"_lk_saved = {name}\nimport labkit.core.exercise as _lk_ex\n"
                        f"{name} = _lk_ex.wrong_answer_like({name})", index)
                    try:
                        client.execute_cell(copy.deepcopy(cell), index)
                    except CellExecutionError as exc:
                        if exc.ename != "ExerciseFailed":
                            raise AssertionError(f"cell {index}: a wrong {name} raised {exc.ename}, "
                                                 "not ExerciseFailed") from None
                        counts["wrong_answers_caught"] += 1
                    else:
                        raise AssertionError(f"cell {index}: the check passed a wrong value of {name!r}")
                    finally:
                        run(f"{name} = _lk_saved", index)
    return counts
