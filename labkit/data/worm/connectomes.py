"""Loading one annotation on the canonical order, its synapse signs and transmitters, sub-networks, and how
two annotations agree."""
from __future__ import annotations

import dataclasses
import functools
import json
import re
from dataclasses import dataclass, field

import numpy as np

from labkit.data.worm.files import _cached_npz, _package_file
from labkit.data.worm.neurons import _canonical, _categorise, _close, _index, _resolve
from labkit.data.worm.registry import _CECT_CLASS, _REGISTRY, KINDS, ConnectomeInfo


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


@functools.cache
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
