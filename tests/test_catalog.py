"""The catalog and the notebooks it lists: well-formed, stored without outputs, one parameters cell."""
import nbformat
import pytest

from labkit.report.catalog import OPERATORS, get_entry, load_catalog
from labkit.report.errors import CatalogError
from labkit.report.parameters import notebook_parameters, resolve_parameters

ENTRIES = load_catalog()
IDS = [e.id for e in ENTRIES]


def test_catalog_has_the_tour_and_unique_ids():
    assert "tour" in IDS and len(IDS) == len(set(IDS))


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_is_complete(entry):
    assert entry.path.exists(), f"{entry.id}: notebook {entry.notebook} is missing"
    assert entry.title and entry.papers and entry.checks
    assert entry.id == "tour" or entry.id == f"{entry.track}/{entry.path.stem}"
    for check in entry.checks:
        assert check.op in OPERATORS


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_every_notebook_has_a_negative_control_and_truth_checks(entry):
    """Issue 22: a green report must mean the method worked, so every notebook carries a control profile
    (tests/test_notebooks.py runs it and requires every truth check to fail) and at least one truth check."""
    assert "control" in entry.profiles, f"{entry.id} has no control profile (see the catalog's header)"
    assert any(c.kind == "truth" for c in entry.checks), f"{entry.id} has no truth check"
    assert {c.kind for c in entry.checks} <= {"truth", "sanity"}


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_notebook_is_stored_clean_with_one_parameters_cell(entry):
    nb = nbformat.read(entry.path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), f"{entry.id} is stored with outputs"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{entry.id} has {len(tagged)} parameters cells"
    params = notebook_parameters(entry.path)
    assert "seed" in params and params.get("device") == "auto"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_profiles_name_real_parameters(entry):
    for profile in entry.profiles:
        resolve_parameters(entry, profile, {})


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_checks_cell_is_marked_for_nbval(entry):
    nb = nbformat.read(entry.path, as_version=4)
    marked = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert marked, f"{entry.id} has no cell marked # NBVAL_CHECK_OUTPUT"
    recorded_in_marked = "".join(c.source for c in marked)
    for check in entry.checks:
        assert f'"{check.name}"' in recorded_in_marked, \
            f"{entry.id}: check {check.name} is not recorded in the checks cell"


def test_unknown_id_suggests_close_matches():
    with pytest.raises(CatalogError, match="did you mean tour"):
        get_entry("tuor")


def test_unknown_profile():
    with pytest.raises(CatalogError, match="no profile 'huge'"):
        get_entry("tour").profile("huge")


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_parameter_rules_name_the_notebooks_parameters(entry):
    """Where a method package has PARAMETERS, they rule every parameter of its notebook, and the
    notebook's defaults pass them."""
    rules = entry.parameter_rules()
    if not rules:
        pytest.skip(f"{entry.package} has no PARAMETERS yet")
    defaults = notebook_parameters(entry.path)
    assert set(rules) == set(defaults)
    resolve_parameters(entry, "default", defaults)


def test_ranges_are_checked_before_any_kernel_starts():
    from labkit.core.params import ParameterError

    with pytest.raises(ParameterError, match="'tau_m'"):
        resolve_parameters(get_entry("tour"), "smoke", {"tau_m": "500"})
