"""labkit workshop: the student build fails only at its exercises, the instructor build passes every
check, and every checker fails when fed a wrong answer; every exercise carries a valid header, which the
schedule shows; bad input is refused before anything is written; and nbgrader's own tools grade the
``--nbgrader`` export (instructor version: full points, student version: zero)."""
import html
import re

import nbformat
import pytest

from labkit.report.catalog import load_catalog
from labkit.report.rehearse import rehearse
from labkit.report.workshop import build, tags

ENTRIES = load_catalog()
WITH_EXERCISES = [e for e in ENTRIES if any("solution" in tags(c) for c in nbformat.read(e.path, as_version=4).cells)]


@pytest.fixture(scope="module")
def workshop(tmp_path_factory):
    return build(tmp_path_factory.mktemp("ws") / "workshop", repo="owner/labkit", nbgrader=True)


def test_at_least_three_notebooks_carry_exercises():
    assert len(WITH_EXERCISES) >= 3, [e.id for e in WITH_EXERCISES]


def test_build_writes_student_instructor_and_schedule(workshop):
    schedule = (workshop / "schedule.html").read_text()
    for entry in ENTRIES:
        student = nbformat.read(workshop / "student" / entry.notebook, as_version=4)
        instructor = nbformat.read(workshop / "instructor" / entry.notebook, as_version=4)
        source = nbformat.read(entry.path, as_version=4)
        for s, i, src in zip(student.cells, instructor.cells, source.cells, strict=True):
            if "solution" in tags(src):
                assert i.source == src.source
                assert "raise NotImplementedError" in s.source and s.source != src.source
                code_lines = [ln for ln in src.source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
                assert not any(ln in s.source.splitlines() for ln in code_lines), "the stub leaks the solution"
            if "think" in tags(src) and "**Answer" in src.source:
                assert "**Answer" not in s.source and "<details>" in i.source
        binder = f"mybinder.org/v2/gh/owner/labkit/HEAD?urlpath=lab/tree/workshop/student/{entry.notebook}"
        assert entry.title in html.unescape(schedule) and binder in schedule  # titles are HTML-escaped there
    assert "Background — 10 min" in schedule


@pytest.mark.notebook
@pytest.mark.parametrize("entry", WITH_EXERCISES, ids=[e.id for e in WITH_EXERCISES])
def test_student_build_fails_only_at_exercises_and_checks_catch_wrong_answers(workshop, entry):
    student = nbformat.read(workshop / "student" / entry.notebook, as_version=4)
    instructor = nbformat.read(workshop / "instructor" / entry.notebook, as_version=4)
    counts = rehearse(student, instructor, entry.profile("smoke"), cwd=entry.path.parent)
    n_solutions = sum("solution" in tags(c) for c in instructor.cells)
    assert counts["stubs"] == n_solutions >= 1
    assert counts["checks"] >= n_solutions
    assert counts["wrong_answers_caught"] >= counts["checks"]


@pytest.mark.parametrize("entry", WITH_EXERCISES, ids=[e.id for e in WITH_EXERCISES])
def test_instructor_build_runs_the_source_code_unchanged(workshop, entry):
    """The instructor build changes markdown only (answers folded into ``<details>``): its code cells are the
    source's, cell for cell, so the smoke report of the source (tests/test_notebooks.py, which requires every
    check cell to print its ✓) is the run of the instructor notebook, and it is not executed a second time."""
    instructor = nbformat.read(workshop / "instructor" / entry.notebook, as_version=4)
    source = nbformat.read(entry.path, as_version=4)
    assert [(c.cell_type, c.source if c.cell_type == "code" else None) for c in instructor.cells] == \
        [(c.cell_type, c.source if c.cell_type == "code" else None) for c in source.cells]
    assert any("check" in tags(c) for c in instructor.cells)


def _workshop_cli(*args, cwd=None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "labkit.report.cli", "workshop", "build", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("where", ["named", "current"])
def test_build_refuses_a_folder_it_did_not_write(tmp_path, where):
    folder = tmp_path / "project"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "notes.txt").write_text("mine")
    out = _workshop_cli("--out", str(folder)) if where == "named" else _workshop_cli("--out", ".", cwd=folder)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "--out" in out.stderr
    assert (folder / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert (folder / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_build_replaces_its_own_build_and_force_never_takes_the_current_folder(tmp_path, workshop):
    from labkit.report.errors import UsageError

    (workshop / "student" / "stale.txt").write_text("old")
    assert build(workshop, repo="owner/labkit", nbgrader=True) == workshop.resolve()
    assert not (workshop / "student" / "stale.txt").exists() and (workshop / ".labkit-workshop").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "a.txt").write_text("a")
    with pytest.raises(UsageError, match="--force"):
        build(foreign, repo="owner/labkit")
    assert build(foreign, repo="owner/labkit", force=True) == foreign.resolve() and not (foreign / "a.txt").exists()
    out = _workshop_cli("--out", ".", "--force", cwd=foreign)
    assert out.returncode == 2 and (foreign / ".labkit-workshop").exists()


# ---- exercise headers (issue 24, item 2) ----------------------------------------------------------------

def _toy_notebook(exercise_md: str, *, check: bool = True, title: str | None = None):
    title = title or "# Toy\n\n> **You will learn:** nothing much · **Time:** about 20 minutes"
    cells = [nbformat.v4.new_markdown_cell(title), nbformat.v4.new_markdown_cell(exercise_md),
             nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["solution"]})]
    if check:
        cells.append(nbformat.v4.new_code_cell("labkit.check_answer('x', x, 1)", metadata={"tags": ["check"]}))
    return nbformat.v4.new_notebook(cells=cells)


GOOD = "### Exercise 1: one thing\n> Difficulty 🔴🔴⚪⚪⚪ · Importance 🔵🔵🔵🔵⚪ · about 15 minutes\n\nDo it."


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_every_exercise_has_a_valid_header_and_the_title_its_time(entry):
    """Fails as soon as a notebook's solution cell lacks a header, a check cell, or the title's time line."""
    from labkit.report.headers import plan

    nb = nbformat.read(entry.path, as_version=4)
    p = plan(nb, entry.notebook)
    assert p is not None and len(p.exercises) >= 2, entry.id
    assert [e.number for e in p.exercises] == list(range(1, len(p.exercises) + 1))
    assert p.minutes > p.exercise_minutes > 0 and p.learn


@pytest.mark.parametrize("markdown, check, title, says", [
    ("**Exercise 1.** Do it.", True, None, "must start with '### Exercise 1"),
    (GOOD.replace("🔴🔴⚪⚪⚪", "⚪🔴🔴⚪⚪"), True, None, "1 to 5 filled dots"),
    (GOOD.replace("🔵🔵🔵🔵⚪", "🔵🔵🔵🔵"), True, None, "1 to 5 filled dots"),
    (GOOD.replace("about 15 minutes", "about 0 minutes"), True, None, "at least 1 minute"),
    (GOOD.replace("Exercise 1:", "Exercise 2:"), True, None, "should read '### Exercise 1'"),
    (GOOD, False, None, "not followed by a cell tagged 'check'"),
    (GOOD, True, "# Toy\n\n**You will learn** things.", "must end with the line"),
    (GOOD, True, "# Toy\n\n> **You will learn:** things · **Time:** about 10 minutes", "less than its exercises"),
])
def test_a_broken_header_is_one_sentence_naming_the_notebook(markdown, check, title, says):
    from labkit.report.headers import HeaderError, plan

    with pytest.raises(HeaderError, match=re.escape(says)) as err:
        plan(_toy_notebook(markdown, check=check, title=title), "toy.ipynb")
    assert str(err.value).startswith("toy.ipynb: ") and "\n" not in str(err.value)


def test_a_good_header_parses():
    from labkit.report.headers import plan

    p = plan(_toy_notebook(GOOD), "toy.ipynb")
    assert (p.learn, p.minutes) == ("nothing much", 20)
    (e,) = p.exercises
    assert (e.number, e.title, e.difficulty, e.importance, e.minutes) == (1, "one thing", 2, 4, 15)
    assert e.dots == ("🔴🔴⚪⚪⚪", "🔵🔵🔵🔵⚪")


def test_schedule_shows_the_time_of_every_notebook_and_exercise(workshop):
    from markupsafe import escape

    from labkit.report.headers import plan

    schedule = (workshop / "schedule.html").read_text()
    for entry in ENTRIES:
        p = plan(nbformat.read(entry.path, as_version=4), entry.notebook)
        assert f"about {p.minutes} min" in schedule and f"exercises {p.exercise_minutes} min" in schedule
        for e in p.exercises:
            row = schedule.split(f"<li>{escape(e.title)}<br>", 1)[1].split("</li>", 1)[0]
            assert f'title="difficulty {e.difficulty}/5"' in row and f'title="importance {e.importance}/5"' in row
            assert row.count("●") == 10 and row.endswith(f"· {e.minutes} min</small>")
    md = (workshop / "schedule.md").read_text()
    assert "- Exercise 1: the rheobase — 🔴⚪⚪⚪⚪ · 🔵🔵🔵⚪⚪ · 5 min" in md


# ---- bad input --------------------------------------------------------------------------------------------

def test_an_unknown_notebook_id_is_one_sentence_and_writes_nothing(tmp_path):
    out = _workshop_cli("tour", "neuro/nope", "--out", str(tmp_path / "ws"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "unknown notebook id 'neuro/nope'" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_solution_without_its_check_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    import labkit.report.workshop as ws
    from labkit.report.headers import HeaderError

    broken = tmp_path / "nb" / "toy.ipynb"
    broken.parent.mkdir()
    nbformat.write(_toy_notebook(GOOD, check=False), broken)
    fake = type("Entry", (), {"id": "toy", "title": "Toy", "notebook": "toy.ipynb", "path": broken})()
    monkeypatch.setattr(ws, "get_entry", lambda notebook_id: fake)
    with pytest.raises(HeaderError, match="not followed by a cell tagged 'check'"):
        ws.build(tmp_path / "ws", repo="owner/labkit", ids=["toy"], nbgrader=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb"]


def test_a_build_holding_grades_is_not_replaced_without_force(tmp_path):
    from labkit.report.errors import UsageError

    out = build(tmp_path / "ws", repo="owner/labkit", ids=["tour"], nbgrader=True)
    (out / "gradebook.db").write_text("grades")
    with pytest.raises(UsageError, match="gradebook.db"):
        build(out, repo="owner/labkit", ids=["tour"], nbgrader=True)
    assert (out / "gradebook.db").read_text() == "grades"
    build(out, repo="owner/labkit", ids=["tour"], nbgrader=True, force=True)
    assert not (out / "gradebook.db").exists()


# ---- the nbgrader export (issue 24, item 3) ---------------------------------------------------------------

def _nbgrader_api(root, monkeypatch):
    """nbgrader's own API on the course folder ``root`` (it runs the ``alembic`` command beside Python)."""
    import os
    import sys

    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.chdir(root)
    config = Config()
    config.CourseDirectory.root = str(root)
    config.Execute.timeout = 600
    return NbGraderAPI(config=config)


def test_nbgrader_source_has_nbgrader_metadata_in_every_notebook(workshop, tmp_path, monkeypatch):
    """Every notebook's export passes nbgrader's metadata validation, and nbgrader's own generate_assignment
    turns it into a release in which no solution line is left and every check is a locked test."""
    import shutil

    from nbgrader.nbgraderformat import MetadataValidator

    from labkit.report.headers import plan
    from labkit.report.nbgrader_export import BEGIN, END, assignment_name

    root = tmp_path / "course"
    shutil.copytree(workshop, root)
    api = _nbgrader_api(root, monkeypatch)
    for entry in ENTRIES:
        name = assignment_name(entry.id)
        nb_name = entry.notebook.rsplit("/", 1)[-1]
        source = nbformat.read(root / "source" / name / nb_name, as_version=4)
        MetadataValidator().validate_nb(source)
        p = plan(nbformat.read(entry.path, as_version=4), entry.notebook)
        graded = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert [c.metadata.nbgrader.points for c in graded] == [e.difficulty for e in p.exercises]
        assert all(c.metadata.nbgrader.locked and "check" in tags(c) for c in graded)
        answers = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert len(answers) == len(p.exercises) and all(BEGIN in c.source and END in c.source for c in answers)
        assert not any("**Answer" in c.source or "<details>" in c.source for c in source.cells)
        result = api.generate_assignment(name)
        assert result["success"], result.get("error")
        release = nbformat.read(root / "release" / name / nb_name, as_version=4)
        for src, rel in zip(answers, [c for c in release.cells if c.metadata.get("nbgrader", {}).get("solution")]):
            solution = src.source.split(BEGIN)[1].split(END)[0]
            code = [ln for ln in solution.splitlines() if ln.strip() and not ln.strip().startswith("#")]
            assert "raise NotImplementedError()" in rel.source, rel.source
            assert not any(ln in rel.source.splitlines() for ln in code), "the release leaks the solution"


@pytest.mark.notebook
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own session handling
def test_nbgrader_autogrades_the_instructor_version_full_and_the_student_version_zero(tmp_path, monkeypatch):
    """nbgrader's own generate_assignment and autograde on the tour: the instructor's solutions score every
    point, the released student version (stubs untouched) scores none."""
    import shutil

    from nbgrader.api import Gradebook

    root = build(tmp_path / "course", repo="owner/labkit", ids=["tour"], nbgrader=True)
    api = _nbgrader_api(root, monkeypatch)
    result = api.generate_assignment("tour")
    assert result["success"], result.get("error")
    for student, folder in (("instructor", "source"), ("student", "release")):
        (root / "submitted" / student / "tour").mkdir(parents=True)
        shutil.copy(root / folder / "tour" / "00_tour.ipynb", root / "submitted" / student / "tour")
        result = api.autograde("tour", student)
        assert result["success"], result.get("error")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        instructor, student = gb.find_submission("tour", "instructor"), gb.find_submission("tour", "student")
        assert instructor.max_score == 3 and instructor.score == instructor.max_score
        assert student.max_score == 3 and student.score == 0
