"""pyproject.toml, environment.yml and binder/ name the same dependencies, so a workshop on Binder
or conda gets what `make` installs."""
import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"pytorch": "torch", "distributed": "dask"}
NOT_PACKAGES = {"python", "pip"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!\[;]", requirement.strip(), maxsplit=1)[0].lower()


def pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {_name(r) for r in reqs}


def conda_names(path: Path) -> set[str]:
    """The packages an environment file installs: conda's, and those of its pip section (not on conda-forge)."""
    deps = yaml.safe_load(path.read_text())["dependencies"]
    pip = [r for d in deps if isinstance(d, dict) for r in d.get("pip", []) if not r.startswith("-")]
    names = {CONDA_TO_PYPI.get(_name(d), _name(d)) for d in deps if isinstance(d, str)} | {_name(r) for r in pip}
    return names - NOT_PACKAGES


def test_environment_yml_matches_pyproject():
    assert conda_names(ROOT / "environment.yml") == pyproject_names()


def test_binder_matches_pyproject_and_uses_cpu_torch():
    assert conda_names(ROOT / "binder" / "environment.yml") == pyproject_names()
    assert "cpu" in (ROOT / "binder" / "environment.yml").read_text().split("pytorch", 1)[1].splitlines()[0]


def test_data_packages_are_pinned_alike_everywhere():
    pins = re.compile(r"cect==[\d.]+ wormneuroatlas==[\d.]+")
    found = {p.name: pins.findall(p.read_text()) for p in
             (ROOT / "Makefile", ROOT / "binder" / "postBuild", ROOT / "environment.yml", ROOT / "README.md")}
    assert all(found.values()), found
    assert len({m for ms in found.values() for m in ms}) == 1, found


def test_torch_is_installed_cpu_first_by_make():
    make = (ROOT / "Makefile").read_text()
    assert make.index("torch==2.13.0") < make.index('-e ".[dev]"')


def test_readme_lists_every_notebook_and_the_two_commands():
    from labkit.report.catalog import load_catalog

    readme = (ROOT / "README.md").read_text()
    assert "make report" in readme and "make test" in readme
    for entry in load_catalog():
        assert f"`{entry.id}`" in readme, f"README's catalog table lacks {entry.id}"


def test_numba_is_a_runtime_dependency_everywhere():
    """The spiking engine's compiled CPU path (labkit.spiking.compiled) needs Numba at run time, so every
    environment installs it (the engine still falls back to torch, with a warning, where it is missing)."""
    assert "numba" in pyproject_names()
    assert "numba" in conda_names(ROOT / "environment.yml")
    assert "numba" in conda_names(ROOT / "binder" / "environment.yml")
