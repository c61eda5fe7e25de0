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

The package: :mod:`.registry` (which annotations exist), :mod:`.neurons` (the canonical order, classes,
groups), :mod:`.connectomes` (loading, sub-networks, agreement), :mod:`.propagation` (the functional atlas)
and :mod:`.files` (the installed packages' data files and the parse cache).

Parsing happens once: each annotation is written to an ``.npz`` under
``labkit.core.cache.cache_dir() / "worm"`` (keyed by the source file's size and time and this
module's format version) and kept in memory, so every load after the first takes milliseconds.
"""
from labkit.data.worm.connectomes import (
    Connectome,
    ExtraNodes,
    binary_jaccard,
    load_connectome,
    neurotransmitters,
    subnetwork,
    synapse_transmitters,
)
from labkit.data.worm.neurons import (
    COMMAND_INTERNEURONS,
    canonical_neurons,
    cell_category,
    neuron_class,
    neuron_classes,
    neuron_groups,
    neurons_in_class,
)
from labkit.data.worm.propagation import SignalPropagation, load_signal_propagation
from labkit.data.worm.registry import KINDS, ConnectomeInfo, connectome_table, list_connectomes

__all__ = [
    "ConnectomeInfo", "Connectome", "ExtraNodes", "SignalPropagation",
    "list_connectomes", "connectome_table", "load_connectome", "load_signal_propagation",
    "canonical_neurons", "neuron_class", "neurons_in_class", "neuron_classes", "neuron_groups",
    "subnetwork", "neurotransmitters", "synapse_transmitters", "binary_jaccard", "cell_category",
    "COMMAND_INTERNEURONS", "KINDS",
]
