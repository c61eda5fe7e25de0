"""Reports: the catalog of notebooks, the papermill runner, HTML pages, sweeps, workshops and the CLI.

The public names are loaded on first use, so the ``labkit`` command starts without importing
nbformat, papermill or torch.
"""
from labkit.core.lazy import lazy_exports

_EXPORTS = {
    "Entry": "labkit.report.catalog",
    "load_catalog": "labkit.report.catalog",
    "get_entry": "labkit.report.catalog",
    "notebooks_dir": "labkit.report.catalog",
    "RunResult": "labkit.report.runner",
    "run_notebook": "labkit.report.runner",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
