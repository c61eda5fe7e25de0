"""Neurodata Without Borders (NWB) files in and out, on ``pynwb``.

In: :func:`read_spikes` bins a file's units table into counts (the whole recording, or cut on its trials
table), vectorized over all units at once; :func:`read_traces` reads fluorescence / ΔF/F traces from its
``ophys`` module; :func:`read_behavior` the series of its ``behavior`` module; :func:`describe` says what a
file holds that labkit can use (``labkit nwb FILE``).
Out: :func:`write_simulation` writes a labkit simulation with its ground truth in a ``truth`` processing
module, which :func:`read_truth` reads back (the tests score a notebook run on a file against it).
"""
from labkit.data.nwb.read import Spikes, bin_spike_times, check_file, read_spikes
from labkit.data.nwb.series import Behavior, Traces, describe, read_behavior, read_traces, read_truth
from labkit.data.nwb.write import write_simulation

__all__ = ["Spikes", "Traces", "Behavior", "check_file", "read_spikes", "read_traces", "read_behavior", "describe",
           "write_simulation", "read_truth", "bin_spike_times"]
