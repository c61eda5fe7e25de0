"""Tests of labkit.data.datasets: the loaders give their documented arrays, the split is seeded and
disjoint, and bad arguments are named."""
import numpy as np
import pytest

from labkit.core.params import ParameterError
from labkit.data.datasets import load_digits, load_mnist1d, split_indices


def test_digits_are_sklearns_raw_pixels():
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float64 and y.shape == (1797,)
    assert x.min() == 0 and x.max() == 16 and set(np.unique(y)) == set(range(10))


def test_mnist1d_is_signed_signals_and_restores_global_rngs():
    pytest.importorskip("mnist1d")
    state = np.random.get_state()[1].copy()
    x, y = load_mnist1d(200, seed=0)
    assert x.shape == (200, 40) and x.min() < 0 < x.max() and set(np.unique(y)) == set(range(10))
    assert np.array_equal(np.random.get_state()[1], state)
    with pytest.raises(ParameterError, match="Parameter 'n_samples' of load_mnist1d must be an integer >= 10"):
        load_mnist1d(5)


def test_split_is_seeded_and_disjoint():
    tr, te = split_indices(30, 1 / 3, seed=1)
    assert len(te) == 10 and len(tr) == 20 and not set(tr) & set(te)
    assert set(tr) | set(te) == set(range(30))
    assert np.array_equal(split_indices(30, 1 / 3, seed=1)[1], te)
    assert not np.array_equal(split_indices(30, 1 / 3, seed=2)[1], te)


@pytest.mark.parametrize("fraction", [0.0, 1.0, float("nan"), "a third"])
def test_split_names_a_bad_fraction(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        split_indices(30, fraction, seed=0)
    with pytest.raises(ValueError, match="test_fraction"):
        split_indices(3, 0.1, seed=0)          # no sample left to test on
