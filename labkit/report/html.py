"""Offline HTML for reports and the gallery.

nbconvert's stock templates load require.js, MathJax and mermaid from CDNs, and plotly's notebook
renderer draws through require.js: such a page is blank offline. The ``labkit`` template (in
``templates/labkit``) embeds plotly.js once in the page head instead and loads nothing else; figures
come from :class:`labkit.viz.theme.LabkitRenderer`, which calls the global ``Plotly``.

labkit's own pages (a report's header, the gallery, the sweep summary, the workshop schedule) are
Jinja templates in ``templates/pages``, rendered by :func:`render_page` with one stylesheet.
"""
from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates"

CSS = """
.lk-summary{font-family:Inter,Helvetica,Arial,sans-serif;max-width:1100px;margin:16px auto;padding:16px 20px;
  border:1px solid #ddd;border-radius:8px;background:#fafafa}
.lk-summary h1{font-size:22px;margin:0 0 8px 0}
.lk-badge{display:inline-block;padding:2px 10px;border-radius:12px;color:white;font-weight:600;font-size:13px}
.lk-ok{background:#009E73}.lk-failed{background:#D55E00}.lk-notrun{background:#888}
.lk-summary table,.lk-gallery table{border-collapse:collapse;font-size:14px;margin:8px 0}
.lk-summary td,.lk-summary th,.lk-gallery td,.lk-gallery th{border:1px solid #ddd;padding:4px 8px;text-align:left;
  vertical-align:top}
.lk-pass{color:#009E73;font-weight:600}.lk-fail{color:#D55E00;font-weight:600}
.lk-error{white-space:pre-wrap;color:#a33;font-family:monospace;font-size:13px}
.lk-gallery{font-family:Inter,Helvetica,Arial,sans-serif;max-width:1300px;margin:20px auto;padding:0 20px}
"""


@lru_cache(maxsize=1)
def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _number(value: Any) -> Any:
    return f"{value:.4g}" if isinstance(value, float) else value


@lru_cache(maxsize=1)
def _pages():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "pages"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["number"] = _number
    return env


def render_page(template: str, **context: Any) -> str:
    """One of labkit's pages (``templates/pages/<template>``), with the shared stylesheet."""
    return _pages().get_template(template).render(css=CSS, **context)


def summary_html(metrics: dict[str, Any], entry=None) -> str:
    """The header of a report page: status, run facts, parameters, papers, error and checks."""
    return render_page("summary.html.j2", metrics=metrics, papers=list(entry.papers) if entry is not None else [])


_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
# Inline math may run over a line break (as MathJax reads it) but not over a blank line (a new paragraph).
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)((?:[^$\n]|\n(?![ \t]*\n))+?)(?<![\\\n])\$")


def _to_mathml(latex: str, display: str) -> str | None:
    try:
        from latex2mathml.converter import convert

        return convert(" ".join(latex.split("\n")).strip(), display=display)
    except Exception:  # an unsupported macro: keep the LaTeX source
        return None


def math_to_mathml(markdown: str) -> str:
    """Replace ``$...$`` and ``$$...$$`` in markdown by MathML, which browsers draw with no script.

    This stands in for MathJax, which nbconvert would load from a CDN. Code spans and fenced code
    are left alone; an expression the converter does not understand stays as LaTeX source.
    """
    parts = re.split(r"(```.*?```|`[^`]*`)", markdown, flags=re.DOTALL)
    for k in range(0, len(parts), 2):
        text = _DISPLAY_MATH.sub(lambda m: "\n\n" + (_to_mathml(m.group(1), "block") or m.group(0)) + "\n\n", parts[k])
        parts[k] = _INLINE_MATH.sub(lambda m: _to_mathml(m.group(1), "inline") or m.group(0), text)
    return "".join(parts)


_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_PROGRESS_BAR = re.compile(r"\d+%\|.*\|\s*\d+/\d+")        # tqdm's text form: " 40%|####  | 4/10 ["


def is_progress_bar(output) -> bool:
    """A tqdm progress widget. In a static page its widget is gone and only the text of its first
    state is left (``0%| | 0/400``): a bar that looks stuck, so reports leave it out."""
    data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
    text = data.get("text/plain", "")
    return _WIDGET_VIEW in data and bool(_PROGRESS_BAR.search("".join(text) if isinstance(text, list) else text))


def export_html(nb, metrics: dict[str, Any], entry=None) -> str:
    """A self-contained page for an executed notebook (or, with ``nb=None``, for a run that never started)."""
    import nbformat
    from nbconvert import HTMLExporter

    if nb is None:
        nb = nbformat.v4.new_notebook()
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = math_to_mathml(cell.source)
        elif cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if not is_progress_bar(o)]
    exporter = HTMLExporter(template_name="labkit", extra_template_basedirs=[str(TEMPLATES)])
    resources = {"labkit_plotly_js": plotly_js(), "labkit_css": CSS, "labkit_summary": summary_html(metrics, entry)}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def gallery_html(rows: list[dict[str, Any]], title: str = "labkit reports") -> str:
    """The index page: one row per catalog notebook with its status, time, key numbers and link."""
    return render_page("gallery.html.j2", rows=rows, title=title)


def gallery_index(out: str | Path) -> Path:
    """``out/index.html``, if the gallery may write it: missing, or a gallery page written before."""
    from labkit.report.errors import UsageError
    from labkit.report.folders import check_writable

    target = check_writable(out) / "index.html"
    if target.is_dir() or (target.exists() and "lk-gallery" not in target.read_text(errors="replace")):
        raise UsageError(f"--out {str(target.parent)!r} holds an index.html that labkit did not write; "
                         "choose another folder.")
    return target


def write_gallery(out: str | Path) -> Path:
    """Rebuild ``out/index.html`` from the catalog and every ``metrics.json`` under ``out``."""
    import os
    import tempfile

    from labkit.report.catalog import load_catalog

    target = gallery_index(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for entry in load_catalog():
        mfile = target.parent / entry.id / "metrics.json"
        if mfile.exists():
            m = json.loads(mfile.read_text())
            rows.append({**m, "title": entry.title, "track": entry.track, "link": f"{entry.id}/report.html"})
        else:
            rows.append({"id": entry.id, "title": entry.title, "track": entry.track, "status": "not run"})
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".index-", suffix=".html")
    with os.fdopen(fd, "w") as f:
        f.write(gallery_html(rows))
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    return target
