"""Reports: the catalog of notebooks, the papermill runner, HTML export, the gallery and the CLI."""
from labkit.report.catalog import Entry, load_catalog, get_entry, notebooks_dir
from labkit.report.runner import RunResult, run_notebook

__all__ = ["Entry", "load_catalog", "get_entry", "notebooks_dir", "RunResult", "run_notebook"]
