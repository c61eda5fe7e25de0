"""labkit workshop: the student build fails only at its exercises, the instructor build passes every
check, and every checker fails when fed a wrong answer."""
import nbformat
import pytest

from labkit.report.catalog import load_catalog
from labkit.report.rehearse import rehearse
from labkit.report.workshop import build, tags

ENTRIES = load_catalog()
WITH_EXERCISES = [e for e in ENTRIES if any("solution" in tags(c) for c in nbformat.read(e.path, as_version=4).cells)]


@pytest.fixture(scope="module")
def workshop(tmp_path_factory):
    return build(tmp_path_factory.mktemp("ws") / "workshop", repo="owner/labkit")


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
        assert entry.title in schedule and binder in schedule
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


@pytest.mark.notebook
@pytest.mark.parametrize("entry", WITH_EXERCISES, ids=[e.id for e in WITH_EXERCISES])
def test_instructor_build_runs_with_every_check_passing(workshop, entry):
    import papermill as pm

    nb = workshop / "instructor" / entry.notebook
    out = nb.with_suffix(".out.ipynb")
    pm.execute_notebook(str(nb), str(out), parameters=entry.profile("smoke"), kernel_name="python3",
                        progress_bar=False, cwd=str(entry.path.parent))
    executed = nbformat.read(out, as_version=4)
    checks = [c for c in executed.cells if "check" in tags(c)]
    assert checks and all("✓" in "".join(o.get("text", "") for o in c.outputs) for c in checks)


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
    assert build(workshop, repo="owner/labkit") == workshop.resolve()
    assert not (workshop / "student" / "stale.txt").exists() and (workshop / ".labkit-workshop").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "a.txt").write_text("a")
    with pytest.raises(UsageError, match="--force"):
        build(foreign, repo="owner/labkit")
    assert build(foreign, repo="owner/labkit", force=True) == foreign.resolve() and not (foreign / "a.txt").exists()
    out = _workshop_cli("--out", ".", "--force", cwd=foreign)
    assert out.returncode == 2 and (foreign / ".labkit-workshop").exists()
