"""JupyterLab in a real browser: every catalog notebook opens, runs, draws, and its explorer answers a slider.

One JupyterLab server (its own token, a free port) serves a temporary copy of ``notebooks/`` in which each
notebook carries its smoke parameters, injected the way papermill injects them (papermill's own
``parameterize_notebook``); the repository's notebooks stay unexecuted and unchanged. Debian's chromium,
driven by Playwright through ``executable_path`` (Playwright never downloads a browser here), opens each
notebook, runs all its cells, waits for the kernel to go idle and checks:

- no cell has an error output, and every code cell ran;
- every plotly figure drew its SVG (an output that fell back to text/html because the plotly extension
  is missing counts as not drawn);
- every widget rendered (no "Loading widget..." or "Error displaying widget" placeholder);
- the explorer answers: the first ipywidgets slider whose widget holds a plotly figure is moved one step
  with the keyboard, and the figure's data (``gd.data`` of the plotly div, read in the page) changes.
  A notebook with no slider has no explorer: that is recorded (in ``summary.json``), not failed.

A screenshot of each notebook (scrolled to its explorer) is kept under pytest's tmp_path. By default one
notebook per track runs (the first catalog entry of each track); ``make test-browser``
(``LABKIT_BROWSER_ALL=1``) runs every catalog notebook. All notebooks run in one test function against
one server, so ``pytest -n 2`` never starts two servers for it; with the ``make lab`` test it shares an
xdist group, which ``make test`` (``--dist loadgroup``) keeps on one worker.

The ``make lab`` tests start the Makefile's own target: it starts (as root too), prints its URL with a
token, refuses a request without the token, and answers a bad or busy PORT with one sentence.

Skips where chromium or Playwright is missing, unless ``LABKIT_REQUIRE_BROWSER=1`` (set by ``.ci/run``),
which turns the skip into a failure so CI always runs it.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from labkit.report.catalog import load_catalog, notebooks_dir
from labkit.report.parameters import resolve_parameters

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("LABKIT_REQUIRE_BROWSER") == "1"
RUN_ALL = os.environ.get("LABKIT_BROWSER_ALL") == "1"
ONLY = [i for i in os.environ.get("LABKIT_BROWSER_NOTEBOOKS", "").split(",") if i]
RUN_TIMEOUT_S = 600   # one notebook's Run All at smoke parameters (they take seconds to a minute)
REDRAW_TIMEOUT_S = 120  # an explorer's redraw after one slider step
PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"LABKIT_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None) -> int:
    """The HTTP status of a GET (redirects not followed), with the token in the header if given."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _jupyter_home(home: Path) -> dict[str, str]:
    """Environment for a server whose config, data, runtime files and workspaces stay under ``home``;
    the news prompt is switched off (it would ask, and it would reach for the network)."""
    config = home / "config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython")}
    # The lab a user opens: no report mode, no metrics file, progress bars as notebooks show them.
    for var in ("LABKIT_REPORT", "LABKIT_METRICS", "LABKIT_PROGRESS"):
        env.pop(var, None)
    return env


def _stop(proc: subprocess.Popen) -> None:
    """Stop a server started in its own session (make and the jupyter it started), politely first."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------- make lab

def _make_lab_command(*assignments: str) -> list[str]:
    """``make lab`` with this interpreter's environment as the Makefile's venv, never reinstalling it."""
    make = shutil.which("make")
    venv = Path(sys.prefix)
    if make is None or not (venv / "bin" / "jupyter").exists():
        pytest.skip("needs make and jupyter in the running virtual environment")
    return [make, "-s", "-C", str(ROOT), "lab", f"VENV={venv}", "-o", f"{venv}/.installed", *assignments]


@pytest.mark.xdist_group("jupyterlab")  # `make test` runs --dist loadgroup: never two lab servers at once
def test_make_lab_prints_its_token_and_refuses_requests_without_it(tmp_path):
    port = _free_port()
    log = tmp_path / "lab.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(_make_lab_command(f"PORT={port}"), stdout=sink, stderr=subprocess.STDOUT,
                                env=_jupyter_home(tmp_path / "home"), start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        match = None
        while match is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            match = re.search(rf"http://(?:127\.0\.0\.1|localhost):{port}/lab\?token=(\w+)", log.read_text())
        assert match, f"`make lab PORT={port}` printed no URL with a token (exit {proc.poll()}):\n{log.read_text()}"
        token = match.group(1)
        assert len(token) >= 32, f"a short token: {token!r}"
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/api/contents") == 403, "the server answered a request without its token"
        assert _get(f"{base}/api/contents", token="0" * len(token)) == 403, "the server took a wrong token"
        assert _get(f"{base}/lab") in (302, 403), "the lab page opened without the token"
        assert _get(f"{base}/api/contents", token=token) == 200, "the server refused its own token"
        assert _get(f"{base}/api/contents?token={token}") == 200, "the printed URL's token was refused"
    finally:
        _stop(proc)


@pytest.mark.parametrize("args, says", [
    (["PORT=abc"], "PORT must be a port number (1-65535), got 'abc'."),
    (["PORT=0"], "PORT must be a port number (1-65535), got '0'."),
    (["PORT=70000"], "PORT must be a port number (1-65535), got '70000'."),
    (["PORT=busy"], "is in use or not allowed; pick another with PORT=N."),
    (["IP=no.such.host.invalid"], "IP must be an IPv4 address of this machine (0.0.0.0 for all of them), got"),
])
def test_make_lab_answers_a_bad_port_or_ip_with_one_sentence(tmp_path, args, says):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        args = [a.replace("busy", str(busy.getsockname()[1])) for a in args]
        done = subprocess.run(_make_lab_command(*args), capture_output=True, text=True, timeout=120,
                              env=_jupyter_home(tmp_path / "home"))
    assert done.returncode != 0, f"`make lab {' '.join(args)}` started:\n{done.stdout}{done.stderr}"
    first, *rest = done.stderr.strip().splitlines()
    assert first.startswith("make lab: ") and says in first, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    # only make's own exit line ("make[1]: ***" when the test itself runs under `make test`)
    assert all(re.match(r"make(\[\d+\])?: \*\*\*", line) for line in rest), done.stderr


# ------------------------------------------------------------------------------------------ the browser

def _entries():
    """Every catalog notebook under LABKIT_BROWSER_ALL=1; otherwise the first of each track.
    LABKIT_BROWSER_NOTEBOOKS=id,id picks some by id."""
    entries = load_catalog()
    if ONLY:
        unknown = set(ONLY) - {e.id for e in entries}
        assert not unknown, f"LABKIT_BROWSER_NOTEBOOKS names no catalog notebook: {sorted(unknown)}"
        return [e for e in entries if e.id in ONLY]
    if RUN_ALL:
        return entries
    firsts: dict[str, object] = {}
    for entry in entries:
        firsts.setdefault(entry.track, entry)
    return list(firsts.values())


def _parameterized_copy(entries, dest: Path) -> Path:
    """A copy of notebooks/ with each entry's smoke parameters injected as papermill injects them."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    shutil.copytree(notebooks_dir(), dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for entry in entries:
        path = dest / entry.notebook
        nb = load_notebook_node(str(path))  # as papermill reads it (every cell gets its tags list)
        nb = parameterize_notebook(nb, resolve_parameters(entry, "smoke", {}), kernel_name="python3")
        nbformat.write(nb, path)
    return dest


@contextmanager
def _lab_server(root: Path, home: Path):
    """JupyterLab on ``root`` with a fresh token and a free port; yields (base URL, token, log path)."""
    token, port = secrets.token_hex(24), _free_port()
    settings = home / "settings"
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    # Every cell stays in the page, so every figure and widget can be checked without scrolling to it.
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
           f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = home / "server.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=_jupyter_home(home),
                                start_new_session=True, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while _status(f"{base}/api/status", token) != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start (exit {proc.poll()}):\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token, log
    finally:
        _stop(proc)


def _status(url: str, token: str) -> int | None:
    try:
        return _get(url, token)
    except OSError:
        return None


# JavaScript run in the page. `window.jupyterapp` is the JupyterLab application (expose_app_in_browser).
PANEL = """window.__labkitPanel = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) if (w.context && w.context.path === path && w.content) return w;
  return null;
};"""

READY = """(path) => {
  const p = window.__labkitPanel(path);
  const kernel = p && p.context.isReady && p.sessionContext.session && p.sessionContext.session.kernel;
  return !!(kernel && kernel.status === 'idle' && p.content.widgets.length > 0);
}"""

RUN_ALL_CELLS = """async (path) => {
  const app = window.jupyterapp, p = window.__labkitPanel(path);
  app.shell.activateById(p.id);
  window.__labkitRun = null;
  app.commands.execute('notebook:run-all-cells').then(
    (ok) => { window.__labkitRun = {ok: ok}; }, (e) => { window.__labkitRun = {ok: false, error: String(e)}; });
}"""

IDLE_AFTER_RUN = """(path) => {
  const p = window.__labkitPanel(path);
  return window.__labkitRun !== null && p.sessionContext.session.kernel.status === 'idle';
}"""

# What the page shows, output by output: each output of a cell's model is matched with its rendered child
# in the cell's output area. A plotly output must be drawn by the plotly extension (an SVG inside
# .jp-RenderedPlotly; without the extension JupyterLab would fall back to the text/html bundle, which draws
# nothing); a widget output must hold a rendered widget, not a placeholder.
STATE = """(path) => {
  const p = window.__labkitPanel(path), node = p.node;
  const errors = [], unexecuted = [], undrawn = [], unrendered = [];
  let plotly = 0, widgets = 0;
  const placeholder = /Loading widget\\.\\.\\.|Error displaying widget/;
  p.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    if (cell.model.executionCount === null && cell.model.sharedModel.getSource().trim()) unexecuted.push(i);
    const children = cell.outputArea.node.querySelectorAll(':scope > .jp-OutputArea-child');
    cell.model.outputs.toJSON().forEach((o, k) => {
      const child = children[k], data = o.data || {};
      if (o.output_type === 'error') errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      if (data['PLOTLY_MIME']) {
        plotly += 1;
        if (!child || !child.querySelector('.jp-RenderedPlotly svg.main-svg')) undrawn.push(i);
      }
      if (data['WIDGET_MIME'] && data['WIDGET_MIME'].model_id) {
        widgets += 1;
        // a widget closed by the kernel (a finished progress bar) leaves its output empty, which is right;
        // a fallback to the widget's text form (no widget manager) or a placeholder is not
        const text = child ? child.innerText.trim() : '';
        if (!child || (!child.querySelector('.jupyter-widgets') && text) || placeholder.test(text)
            || child.querySelector('.jupyter-widgets-error-widget')) unrendered.push(i);
      }
    });
  });
  const inner = [...node.querySelectorAll('.jupyter-widgets .jp-RenderedPlotly')];
  return {
    errors, unexecuted, plotly, widgets, undrawn, unrendered,
    innerPlots: inner.length, innerUndrawn: inner.filter((o) => !o.querySelector('svg.main-svg')).length,
    placeholders: node.innerText.match(new RegExp(placeholder.source, 'g')) || [],
    errorWidgets: node.querySelectorAll('.jupyter-widgets-error-widget').length,
    sliders: node.querySelectorAll('.widget-slider').length,
    run: window.__labkitRun,
  };
}""".replace("PLOTLY_MIME", PLOTLY).replace("WIDGET_MIME", WIDGET)

# Figures draw and widgets render asynchronously after their cell finished.
DRAWN = "(path) => { const s = (" + STATE + """)(path);
  return !s.undrawn.length && !s.unrendered.length && !s.innerUndrawn && !s.placeholders.length; }"""

# The explorer: the first control of a kind (a slider; a dropdown with two or more options where the explorer
# has no slider) whose widget (the nearest enclosing widget box) holds a plotly figure. Marks the control and its
# box, so the figure can be found again after the widget's output area replaced it.
FIND_EXPLORER = """([path, kind]) => {
  const node = window.__labkitPanel(path).node;
  for (const control of node.querySelectorAll(kind)) {
    const only = control.querySelector('select');
    if (only && only.options.length < 2) continue;  // a one-option dropdown cannot move its figure
    const output = control.closest('.jp-OutputArea-output');
    let box = control.parentElement;
    while (box && box !== output && !box.querySelector('.js-plotly-plot')) box = box.parentElement;
    if (box && box !== output) {
      control.setAttribute('data-labkit-control', '');
      box.setAttribute('data-labkit-explorer', '');
      const handle = control.querySelector('.noUi-handle'), select = control.querySelector('select');
      const name = control.querySelector('.widget-label');
      return {label: `${name ? name.innerText : '?'} = ${handle ? handle.getAttribute('aria-valuenow') : select.value}`,
              now: handle ? Number(handle.getAttribute('aria-valuenow')) : select.selectedIndex,
              max: handle ? Number(handle.getAttribute('aria-valuemax')) : select.options.length - 1};
    }
  }
  return null;
}"""

# A fingerprint of the explorer's figure object: its traces, typed arrays included, hashed (FNV-1a).
FIGURE_DATA = """() => {
  const gd = document.querySelector('[data-labkit-explorer] .js-plotly-plot');
  if (!gd || !gd.data || !gd.querySelector('svg.main-svg')) return null;
  const s = JSON.stringify(gd.data, (k, v) => ArrayBuffer.isView(v) ? Array.from(v) : v);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
  return `${gd.data.length} traces, ${s.length} chars, #${h.toString(16)}`;
}"""

CHANGED = "(before) => { const now = (" + FIGURE_DATA + ")(); return now !== null && now !== before; }"

SHUTDOWN = """async (path) => { await window.__labkitPanel(path).sessionContext.shutdown(); }"""


def _check_notebook(context, base: str, token: str, entry, index: int, shots: Path,
                    redraw_timeout_s: float = REDRAW_TIMEOUT_S) -> tuple[list[str], dict]:
    """Open, run and inspect one notebook; return its problems and what was seen."""
    path = entry.notebook
    page = context.new_page()
    page.add_init_script(PANEL)
    console = []
    page.on("pageerror", lambda exc: console.append(f"page error: {exc}"))
    seen: dict = {"id": entry.id}
    problems: list[str] = []
    start = time.monotonic()
    try:
        page.goto(f"{base}/lab/workspaces/labkit-{index}/tree/{path}?token={token}")
        page.wait_for_function(READY, arg=path, timeout=180_000)
        page.evaluate(RUN_ALL_CELLS, path)
        page.wait_for_function(IDLE_AFTER_RUN, arg=path, timeout=RUN_TIMEOUT_S * 1000, polling=500)
        seen["run_s"] = round(time.monotonic() - start, 1)
        try:
            page.wait_for_function(DRAWN, arg=path, timeout=30_000, polling=500)
        except Exception:  # reported below, from the state
            pass
        state = page.evaluate(STATE, path)
        seen.update({k: state[k] for k in ("plotly", "widgets", "innerPlots", "sliders")})
        if state["run"] and state["run"].get("error"):
            problems.append(f"Run All Cells failed: {state['run']['error']}")
        problems += [f"error output in {e}" for e in state["errors"]]
        if state["unexecuted"] and not state["errors"]:
            problems.append(f"code cells that never ran: {state['unexecuted']}")
        if state["undrawn"] or state["innerUndrawn"]:
            problems.append(f"plotly figures not drawn (no SVG from the plotly extension) in cells {state['undrawn']}"
                            + (f" and {state['innerUndrawn']} inside widgets" if state["innerUndrawn"] else ""))
        if state["unrendered"] or state["placeholders"] or state["errorWidgets"]:
            problems.append(f"widgets not rendered in cells {state['unrendered']}: {state['placeholders']}, "
                            f"{state['errorWidgets']} error widgets")
        explorer = page.evaluate(FIND_EXPLORER, [path, ".widget-slider"])
        kind = "slider"
        if explorer is None:
            explorer, kind = page.evaluate(FIND_EXPLORER, [path, ".widget-dropdown"]), "dropdown"
        if explorer is None:
            seen["explorer"] = "none" + (f" ({state['sliders']} sliders, none beside a plotly figure)"
                                         if state["sliders"] else "")
        else:
            seen["explorer"] = f"{kind} {explorer['label']}"
            page.locator("[data-labkit-explorer]").first.scroll_into_view_if_needed()
            before = page.evaluate(FIGURE_DATA)
            control = page.locator("[data-labkit-control]").first
            if kind == "slider":  # one step, as a user's arrow key moves it
                move = "ArrowRight" if explorer["now"] < explorer["max"] else "ArrowLeft"
                control.locator(".noUi-handle").press(move)
            else:  # the next option (the first, from the last)
                move = f"option {(explorer['now'] + 1) % (explorer['max'] + 1)}"
                control.locator("select").select_option(index=(explorer["now"] + 1) % (explorer["max"] + 1))
            try:
                page.wait_for_function(CHANGED, arg=before, timeout=redraw_timeout_s * 1000, polling=500)
                seen["figure"] = f"{before} -> {page.evaluate(FIGURE_DATA)}"
            except Exception:
                problems.append(f"moving the {kind} '{explorer['label']}' ({move}) left the figure's data as it was "
                                f"({before})")
            page.wait_for_timeout(500)  # let the redrawn figure settle before the screenshot
        page.screenshot(path=str(shots / f"{entry.id.replace('/', '__')}.png"))
    except Exception as exc:  # a timeout or a page that never opened: report it with what the page said
        problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        try:
            page.screenshot(path=str(shots / f"{entry.id.replace('/', '__')}.png"))
        except Exception:
            pass
    finally:
        try:
            page.evaluate(SHUTDOWN, path)
        except Exception:
            pass
        page.close()
    seen["total_s"] = round(time.monotonic() - start, 1)
    if problems and console:
        problems.append("; ".join(console[:3]))
    return problems, seen


# The checks must be able to fail: a notebook made to break each of them, opened once as it is (an error
# output, an explorer whose figure ignores its slider) and once with JupyterLab's plotly and widget
# extensions switched off (figures not drawn, widgets not rendered).
BROKEN_CELLS = [
    "import plotly.graph_objects as go\n\nimport labkit\nfrom labkit.viz import explorer",
    "go.Figure(go.Scatter(y=[1, 2, 3]))",
    "explorer(lambda n: go.Figure(go.Scatter(y=[1, 2, 3])), n=(1, 5, 1))",
    "raise RuntimeError('a broken cell')",
]
# JupyterLab's plotly extension (a mime extension: switched off by its plugin's id) and widget manager
FRONT_ENDS = ["jupyterlab-plotly", "@jupyterlab/plotly-extension:factory", "@jupyter-widgets/jupyterlab-manager"]
BROKEN_EXPECTED = {"as it is": ["error output in cell 3: RuntimeError", "left the figure's data as it was"],
                   "without the extensions": ["plotly figures not drawn", "widgets not rendered"]}


def _self_check(context, base: str, token: str, root: Path, home: Path, shots: Path) -> list[str]:
    """Run the broken notebook both ways; return the checks that failed to notice what was broken."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in BROKEN_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "labkit_self_check.ipynb")
    page_config = home / "config" / "labconfig" / "page_config.json"
    plain = page_config.read_text()
    missed = []
    for index, (how, expected) in enumerate(BROKEN_EXPECTED.items()):
        if how == "without the extensions":  # read by the server at each page load
            config = json.loads(plain)
            config["disabledExtensions"].update(dict.fromkeys(FRONT_ENDS, True))
            page_config.write_text(json.dumps(config))
        try:
            entry = type("Broken", (), {"id": f"self_check_{index}", "notebook": "labkit_self_check.ipynb"})
            # the broken explorer draws its figure at once: 20 s without a change is its answer
            problems, _ = _check_notebook(context, base, token, entry, 100 + index, shots, redraw_timeout_s=20)
        finally:
            page_config.write_text(plain)
        missed += [f"{how}: no problem reported containing {e!r} (reported: {problems})"
                   for e in expected if not any(e in p for p in problems)]
    return missed


@pytest.mark.browser
@pytest.mark.xdist_group("jupyterlab")
@pytest.mark.timeout(4 * 3600 if RUN_ALL else 1800)
def test_every_notebook_runs_draws_and_answers_its_explorer_in_jupyterlab(tmp_path):
    if CHROMIUM is None:
        _skip_or_fail("no chromium is installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("playwright is not installed (pip install -e '.[dev]')")
    entries = _entries()
    root = _parameterized_copy(entries, tmp_path / "notebooks")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    failures, summary = {}, []
    with _lab_server(root, tmp_path / "home") as (base, token, log), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                     "--disable-dev-shm-usage"])
        context = browser.new_context(viewport={"width": 1280, "height": 1200})
        for index, entry in enumerate(entries):
            problems, seen = _check_notebook(context, base, token, entry, index, shots)
            summary.append(seen)
            print(json.dumps(seen))
            if problems:
                failures[entry.id] = problems
        missed = _self_check(context, base, token, root, tmp_path / "home", shots)
        browser.close()
        server_log = log.read_text()
    (tmp_path / "summary.json").write_text(json.dumps(summary, indent=1))
    assert not missed, "the browser checks missed a broken notebook:\n" + "\n".join(missed)
    assert not failures, (f"in JupyterLab ({len(failures)} of {len(entries)} notebooks; screenshots in {shots}):\n"
                          + "\n".join(f"{k}: " + "; ".join(v) for k, v in failures.items())
                          + f"\nserver log tail:\n{server_log[-2000:]}")
