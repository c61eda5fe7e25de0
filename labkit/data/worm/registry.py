"""The connectome annotations labkit knows: who made them, of which animal, covering what."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

KINDS = ("chemical", "electrical", "all", "contact")
_CECT_CLASS = {"chemical": "Generic_CS", "electrical": "Generic_GJ", "contact": "Contact"}


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
            "transmitter (acetylcholine, glutamate, GABA, monoamines, ...)", 2024, "adult", sex, ("chemical", "all"),
            True, "whole animal", f"Wang2024{src}Reader.json",
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
