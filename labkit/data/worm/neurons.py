"""The 302 hermaphrodite neurons on one canonical order, their anatomical classes and named groups, and what
cect's cell tables say any other node is."""
from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable

from labkit.data.worm.files import _package_file


@functools.lru_cache(maxsize=1)
def _cells():
    try:
        import cect.Cells as cells  # pure Python + pandas; does not import pyNeuroML
    except ImportError as err:
        raise FileNotFoundError(f"labkit.data.worm needs cect's cell tables (cect.Cells), which failed to "
                                f"import: {err}. Install it with `pip install --no-deps cect`.") from None
    return cells


@functools.lru_cache(maxsize=1)
def _canonical() -> tuple[str, ...]:
    names = tuple(str(n) for n in _cells().PREFERRED_HERM_NEURON_NAMES)
    if len(names) != 302 or len(set(names)) != 302:
        raise ValueError(f"cect.Cells.PREFERRED_HERM_NEURON_NAMES should list 302 distinct neurons, "
                         f"got {len(set(names))}.")
    return names


def canonical_neurons() -> list[str]:
    """The 302 hermaphrodite neurons in the fixed order every array of this module uses."""
    return list(_canonical())


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, int]:
    return {n: i for i, n in enumerate(_canonical())}


_CORD_CLASSES = ("AS", "DA", "DB", "DD", "VA", "VB", "VC", "VD")


def _class_of(name: str, names: frozenset[str]) -> str:
    """White et al. (1986) class of a neuron: strip the cord number, then left/right, then dorsal/ventral."""
    m = re.fullmatch(r"(AS|DA|DB|DD|VA|VB|VC|VD)\d+", name)
    if m:
        return m.group(1)
    base = name
    if base[-1] in "LR" and (base[:-1] + ("R" if base[-1] == "L" else "L")) in names:
        base = base[:-1]
    if len(base) >= 4 and base[-1] in "DV":
        other = "V" if base[-1] == "D" else "D"
        stem = base[:-1]
        if any(stem + other + s in names for s in ("", "L", "R")):
            base = stem
    return base


@functools.lru_cache(maxsize=1)
def _classes() -> dict[str, str]:
    names = frozenset(_canonical())
    return {n: _class_of(n, names) for n in _canonical()}


COMMAND_INTERNEURONS = ("AVA", "AVB", "AVD", "AVE", "PVC")  # Chalfie et al. (1985)


@functools.lru_cache(maxsize=1)
def _groups() -> dict[str, tuple[str, ...]]:
    order = _canonical()
    classes = _classes()
    groups: dict[str, set[str]] = {"command": {n for n in order if classes[n] in COMMAND_INTERNEURONS},
                                   "ventral cord motor": {n for n in order if classes[n] in _CORD_CLASSES}}
    sim = {"Sensory": "sensory", "Interneuron": "interneuron", "Motorneuron": "motor"}
    for n in order:
        kind = sim.get(_cells().get_SIM_class(n))
        if kind:
            groups.setdefault(kind, set()).add(n)
    path = _package_file("wormneuroatlas", "data", "aconnectome_ids_ganglia.json")
    try:
        ganglia = json.loads(path.read_text())
        for g, members in ganglia.items():
            if members and all(m in ganglia for m in members):  # a region made of ganglia ("head", "pharynx")
                members = [x for m in members for x in ganglia[m]]
            groups[g] = {m for m in members if m in _index()}
    except (ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"The ganglia file {path} is malformed: {err}.") from None
    return {g: tuple(n for n in order if n in s) for g, s in groups.items()}


def _close(word: str, options: Iterable[str]) -> str:
    near = difflib.get_close_matches(word, list(options), n=4, cutoff=0.5)
    return f" Close matches: {', '.join(near)}." if near else ""


def _check_neuron(name) -> str:
    if not isinstance(name, str) or name not in _index():
        raise ValueError(f"neuron must be one of the 302 hermaphrodite neuron names (e.g. 'AVAL'), got {name!r}."
                         + (_close(name.upper(), _canonical()) if isinstance(name, str) else ""))
    return name


def neuron_class(name: str) -> str:
    """The anatomical class of a neuron (White et al. 1986): ``"AVAL" -> "AVA"``, ``"VA12" -> "VA"``."""
    return _classes()[_check_neuron(name)]


def neuron_classes() -> list[str]:
    """The 118 neuron classes, in the order of their first member in the canonical order."""
    return list(dict.fromkeys(_classes().values()))


def neuron_groups() -> dict[str, list[str]]:
    """Named groups :func:`neurons_in_class` and :func:`subnetwork` accept besides classes.

    ``command`` (the locomotion command interneurons AVA, AVB, AVD, AVE, PVC; Chalfie et al. 1985),
    ``ventral cord motor``, ``sensory`` / ``interneuron`` / ``motor`` (Cook et al. 2019, via cect), and
    the ganglia of WormNeuroAtlas (``head``, ``pharynx``, ``lateral ganglion``, ...).
    """
    return {g: list(v) for g, v in _groups().items()}


def neurons_in_class(cls: str) -> list[str]:
    """The neurons of a class (``"AVA"``) or named group (``"command"``, ``"head"``), in canonical order."""
    if isinstance(cls, str):
        members = [n for n, c in _classes().items() if c == cls]
        if members:
            return members
        if cls in _groups():
            return list(_groups()[cls])
    options = neuron_classes() + list(_groups())
    raise ValueError(f"cls must be a neuron class (e.g. 'AVA') or a group ({', '.join(sorted(_groups()))}), "
                     f"got {cls!r}." + (_close(cls, options) if isinstance(cls, str) else ""))


def _resolve(neurons_or_class) -> list[str]:
    """Neuron names, classes or groups (one or a list) -> neuron names in canonical order."""
    items = [neurons_or_class] if isinstance(neurons_or_class, str) else list(neurons_or_class)
    if not items:
        raise ValueError("neurons_or_class must name at least one neuron, class or group, got an empty list.")
    chosen: set[str] = set()
    for item in items:
        if isinstance(item, str) and item in _index():
            chosen.add(item)
            continue
        if not isinstance(item, str):
            raise ValueError(f"neurons_or_class must hold neuron, class or group names (strings), got {item!r}.")
        try:
            chosen.update(neurons_in_class(item))
        except ValueError:
            options = list(_canonical()) + neuron_classes() + list(_groups())
            raise ValueError(f"neurons_or_class: {item!r} is not a neuron, class or group name."
                             + _close(item, options)) from None
    return [n for n in _canonical() if n in chosen]


def cell_category(node: str) -> str:
    """What cect's cell tables say a node is: ``"hermaphrodite neuron"``, ``"male neuron"``,
    ``"muscle"`` or ``"other"`` (glia, epithelia, gland and end organs)."""
    if _cells().is_herm_neuron(node):
        return "hermaphrodite neuron"
    return _categorise(node)


def _categorise(node: str) -> str:
    cells = _cells()
    if cells.is_male_neuron(node):
        return "male neuron"
    if cells.is_known_muscle(node) or cells.is_potential_muscle(node):
        return "muscle"
    return "other"
