"""The catalog: one YAML file (``labkit/catalog.yaml``) listing every notebook of the lab.

Each entry names the notebook (``track/name``), its title and track, the seed papers it follows,
its parameter profiles (``smoke`` for tests and CI; ``default`` is the notebook's own values;
``full`` where a GPU can reach the papers' scale), and its checks: recorded numbers held to
thresholds, which decide whether a run passed. An entry also knows where its notebook's parameter
rules live: ``PARAMETERS`` in its method package ``labkit.<track>.<name>`` (``labkit.tour`` for the tour).
"""
from __future__ import annotations

import difflib
import importlib
import operator
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from labkit.report.errors import CatalogError

CATALOG_FILE = Path(__file__).resolve().parent.parent / "catalog.yaml"

CHECK_KINDS = ("truth", "sanity")
# Which data a check applies to: "any" (the default), or "simulated" only (it needs the simulation's ground truth,
# which a user's recording, ``nwb_path``, does not have).
CHECK_WHEN = ("any", "simulated")
OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@dataclass(frozen=True)
class Check:
    name: str
    op: str
    threshold: Any
    key: bool = True  # shown on the gallery card
    kind: str = "truth"  # "truth": must fail under the notebook's control profile; "sanity": may pass there
    when: str = "any"  # "simulated": the check needs the ground truth and does not apply to a user's recording

    def evaluate(self, recorded: dict[str, Any], simulated: bool = True) -> dict[str, Any]:
        """The check against the recorded numbers; on a user's recording (``simulated=False``) a check that
        needs the truth does not apply: ``applies`` is False, ``passed`` None, and it fails nothing."""
        if self.when == "simulated" and not simulated:
            return {"name": self.name, "value": recorded.get(self.name), "op": self.op, "threshold": self.threshold,
                    "passed": None, "kind": self.kind, "applies": False}
        value = recorded.get(self.name)
        passed = False
        if value is not None:
            try:
                passed = bool(OPERATORS[self.op](value, self.threshold))
            except TypeError:
                passed = False
        return {"name": self.name, "value": value, "op": self.op, "threshold": self.threshold, "passed": passed,
                "kind": self.kind, "applies": True}


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    track: str
    notebook: str
    papers: tuple[str, ...]
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: tuple[Check, ...] = ()
    summary: str = ""

    @property
    def path(self) -> Path:
        return notebooks_dir() / self.notebook

    @property
    def package(self) -> str:
        """The method package named as the notebook: ``labkit.<track>.<name>``."""
        return "labkit." + self.id.replace("/", ".")

    def parameter_rules(self) -> dict[str, Any]:
        """The rules of the notebook's parameters (its package's ``PARAMETERS``, as its check cell
        passes them to :func:`labkit.check_params`), or ``{}`` where the package has none."""
        try:
            module = importlib.import_module(self.package)
        except ModuleNotFoundError as exc:
            if exc.name and (self.package + ".").startswith(exc.name + "."):
                return {}
            raise
        return dict(getattr(module, "PARAMETERS", {}))

    def profile(self, name: str) -> dict[str, Any]:
        """The parameter overrides of profile ``name``. A notebook without a ``full`` profile runs
        its defaults under ``full`` (its defaults are already its full scale, e.g. fixed real data).
        The ``control`` profile (the negative control) is the ``smoke`` profile with its own overrides
        on top, so that the control differs from a smoke run only in what replaces the method."""
        if name == "default" or (name == "full" and "full" not in self.profiles):
            return {}
        if name not in self.profiles:
            have = ", ".join(["default", *self.profiles])
            raise CatalogError(f"notebook {self.id!r} has no profile {name!r}; it has: {have}.")
        if name == "control":
            return {**self.profiles["smoke"], **self.profiles["control"]}
        return dict(self.profiles[name])


def notebooks_dir() -> Path:
    """``$LABKIT_NOTEBOOKS`` if set, else the ``notebooks/`` folder beside the package."""
    env = os.environ.get("LABKIT_NOTEBOOKS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "notebooks"


def _entry(raw: dict[str, Any]) -> Entry:
    missing = [k for k in ("id", "title", "track", "notebook", "papers") if k not in raw]
    if missing:
        raise CatalogError(f"catalog entry {raw.get('id', raw)!r} lacks {', '.join(missing)}.")
    checks = []
    for c in raw.get("checks", []):
        if c.get("op") not in OPERATORS:
            raise CatalogError(f"catalog entry {raw['id']!r}: check {c.get('name')!r} has op {c.get('op')!r}; "
                               f"expected one of {', '.join(OPERATORS)}.")
        kind = c.get("kind", "truth")
        if kind not in CHECK_KINDS:
            raise CatalogError(f"catalog entry {raw['id']!r}: check {c.get('name')!r} has kind {kind!r}; "
                               f"expected one of {', '.join(CHECK_KINDS)}.")
        when = c.get("when", "any")
        if when not in CHECK_WHEN:
            raise CatalogError(f"catalog entry {raw['id']!r}: check {c.get('name')!r} has when {when!r}; "
                               f"expected one of {', '.join(CHECK_WHEN)}.")
        checks.append(Check(c["name"], c["op"], c["threshold"], c.get("key", True), kind, when))
    profiles = raw.get("profiles") or {}
    if "smoke" not in profiles:
        raise CatalogError(f"catalog entry {raw['id']!r} has no smoke profile.")
    return Entry(id=raw["id"], title=raw["title"], track=raw["track"], notebook=raw["notebook"],
                 papers=tuple(raw["papers"]), profiles={k: dict(v or {}) for k, v in profiles.items()},
                 checks=tuple(checks), summary=raw.get("summary", ""))


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[Entry, ...]:
    with open(path) as f:
        data = yaml.safe_load(f)
    entries = tuple(_entry(raw) for raw in data["notebooks"])
    ids = [e.id for e in entries]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise CatalogError(f"catalog ids must be unique; repeated: {', '.join(sorted(dupes))}.")
    return entries


def load_catalog(path: str | Path | None = None) -> list[Entry]:
    return list(_load(str(path or CATALOG_FILE)))


def get_entry(notebook_id: str) -> Entry:
    entries = {e.id: e for e in load_catalog()}
    if notebook_id in entries:
        return entries[notebook_id]
    close = difflib.get_close_matches(notebook_id, list(entries), n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known ids: {', '.join(entries)}."
    raise CatalogError(f"unknown notebook id {notebook_id!r}{hint}")
