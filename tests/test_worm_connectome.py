"""Tests of labkit.data.worm (the loaders) and labkit.neuro.worm_connectome (the comparisons)."""
import numpy as np
import pytest

from labkit.data import worm
from labkit.data.worm import connectomes, files, registry
from labkit.neuro import worm_connectome as wc


@pytest.fixture(scope="module")
def sp():
    return worm.load_signal_propagation()


def test_canonical_order_and_classes():
    names = worm.canonical_neurons()
    assert len(names) == 302 and len(set(names)) == 302
    assert worm.canonical_neurons() == names  # fixed
    assert len(worm.neuron_classes()) == 118  # White et al. (1986): 302 neurons in 118 classes
    assert worm.neuron_class("AVAL") == "AVA" and worm.neuron_class("VA12") == "VA"
    assert worm.neuron_class("RMDDL") == "RMD" and worm.neuron_class("RID") == "RID"
    assert worm.neurons_in_class("RMD") == ["RMDDL", "RMDDR", "RMDL", "RMDR", "RMDVL", "RMDVR"]
    assert len(worm.neurons_in_class("VD")) == 13 and len(worm.neurons_in_class("DD")) == 6
    assert worm.neurons_in_class("command") == ["AVAL", "AVAR", "AVBL", "AVBR", "AVDL", "AVDR",
                                                "AVEL", "AVER", "PVCL", "PVCR"]
    assert len(worm.neurons_in_class("pharynx")) == 20


@pytest.mark.parametrize("info", worm.list_connectomes(), ids=lambda i: i.name)
def test_every_annotation_loads(info):
    canon = set(worm.canonical_neurons())
    for kind in info.kinds:
        c = worm.load_connectome(info.name, kind)
        assert c.neurons == worm.canonical_neurons()
        assert c.weights.shape == (302, 302) and c.present.shape == (302,)
        assert np.isfinite(c.weights).all() and (c.weights >= 0).all()
        absent = ~c.present
        assert not c.weights[absent].any() and not c.weights[:, absent].any()  # absent = empty rows/cols
        assert c.weights[np.ix_(c.present, c.present)].any()
        assert not set(c.extra.names) & canon
        assert c.extra.to_extra.shape == (302, len(c.extra.names))
        if kind in ("electrical", "contact"):
            assert not c.directed and np.allclose(c.weights, c.weights.T) and c.sign is None
        else:
            assert c.directed
        if c.sign is not None:
            assert set(np.unique(c.sign)) <= {-1, 0, 1}
            assert not c.sign[c.weights == 0].any()  # signs only where a synapse exists
    assert c.metadata["whole_animal"] == info.whole_animal
    if info.whole_animal and info.sex == "hermaphrodite":
        assert c.coverage >= 270
    if info.region == "nerve ring":
        assert not info.whole_animal and c.coverage < 270


def test_all_is_chemical_plus_electrical():
    chem, gap, both = (worm.load_connectome("cook_2019_herm", k) for k in ("chemical", "electrical", "all"))
    np.testing.assert_array_equal(both.weights, chem.weights + gap.weights)
    male = worm.load_connectome("cook_2019_male")
    assert "male neuron" in male.extra.category and "DVE" in male.extra.names


def test_orientation_pre_to_post():
    # Known wiring: AVA drives the A-type motor neurons, AVB the B-type; not the other way round.
    c = worm.load_connectome("cook_2019_herm")
    i = {n: k for k, n in enumerate(c.neurons)}
    ava = [i["AVAL"], i["AVAR"]]
    da = [i[f"DA{k}"] for k in range(1, 10)]
    assert c.weights[np.ix_(ava, da)].sum() > 10 * c.weights[np.ix_(da, ava)].sum()
    # GABAergic D-type motor neurons: their predicted synapse signs are mostly inhibitory.
    dd = [i[n] for n in worm.neurons_in_class("DD") + worm.neurons_in_class("VD")]
    signs = c.sign[dd][c.sign[dd] != 0]
    assert (signs < 0).mean() > 0.8


def test_subnetwork_by_names_classes_and_groups():
    c = worm.load_connectome("cook_2019_herm")
    sub = worm.subnetwork(c, ["AVBR", "AVAL"])
    assert sub.neurons == ["AVAL", "AVBR"]  # canonical order, not the order asked
    i, j = c.neurons.index("AVAL"), c.neurons.index("AVBR")
    assert sub.weights[0, 1] == c.weights[i, j] and sub.weights[1, 0] == c.weights[j, i]
    cmd = worm.subnetwork(c, "command")
    assert cmd.neurons == worm.neurons_in_class("command") and cmd.weights.shape == (10, 10)
    mixed = worm.subnetwork(c, ["AVA", "RIML"])
    assert mixed.neurons == ["AVAL", "AVAR", "RIML"] and mixed.sign.shape == (3, 3)
    assert worm.subnetwork(c, "head").extra.to_extra.shape[0] == len(worm.neurons_in_class("head"))


def test_signal_propagation(sp):
    assert sp.amplitude.shape == sp.q.shape == (302, 302) and sp.neurons == worm.canonical_neurons()
    m = sp.measured
    assert 10_000 < m.sum() < 302 * 301
    assert np.isfinite(sp.q[m]).all() and np.isnan(sp.q[~m]).all()
    assert np.isnan(np.diag(sp.amplitude)).all()
    for n in ("AWCL", "AWCR", "CANL", "CANR"):  # not on the atlas's L/R identities
        k = worm.canonical_neurons().index(n)
        assert np.isnan(sp.amplitude[k]).all() and np.isnan(sp.amplitude[:, k]).all()
    # Rows are stimulated neurons: only ~170 neurons were stimulated, while ~200 responded.
    n_stim, n_resp = (m.any(1)).sum(), (m.any(0)).sum()
    assert n_stim < n_resp
    conn = sp.connected(0.05)
    assert np.isnan(conn[~m]).all() and set(np.unique(conn[m])) <= {0.0, 1.0}


def test_agreement_and_auc_known_facts(sp):
    white, varshney, cook = (worm.load_connectome(n) for n in ("white_1986", "varshney_2011", "cook_2019_herm"))
    assert worm.binary_jaccard(white, varshney) == pytest.approx(1.0)  # same curation on shared neurons
    j = worm.binary_jaccard(white, cook)
    assert 0.3 < j < 0.8 and j > 10 * wc.chance_jaccard(white, cook)
    rho, n = wc.weight_rank_correlation(white, cook)
    assert rho > 0.5 and n > 1000
    auc = wc.anatomy_function_auc(worm.load_connectome("cook_2019_herm", "all"), sp, steps=2)
    assert auc["auc"] > 0.6 and auc["n_connected"] > 500


def test_anatomy_function_auc_is_the_mann_whitney_statistic(sp):
    """The AUC (scikit-learn's) is the probability that a connected pair outscores an unconnected one, ties
    counting one half (the notebook's exercise computes it so); the ROC curve runs from (0, 0) to (1, 1)."""
    c = worm.load_connectome("witvliet_2021_8", "all")
    pairs = sp.measured & np.outer(c.present, c.present)
    w = np.where(np.eye(302, dtype=bool), 0.0, c.weights)
    connected = sp.q[pairs] < 0.05
    pos, neg = w[pairs][connected], w[pairs][~connected]
    mann_whitney = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert wc.anatomy_function_auc(c, sp)["auc"] == pytest.approx(mann_whitney, rel=1e-12)
    fpr, tpr = wc.roc_points(c, sp)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0) and np.all(np.diff(fpr) >= 0)
    assert len(fpr) == len(np.unique(w[pairs])) + 1                     # one point per distinct score


def test_rich_club_and_hubs_are_deterministic():
    c = worm.load_connectome("witvliet_2021_8")
    a = wc.network_measures(c, n_null=2, swaps_per_edge=1, seed=3)
    b = wc.network_measures(c, n_null=2, swaps_per_edge=1, seed=3)
    assert a["rich_club_rho"] == b["rich_club_rho"] and a["hubs"] == b["hubs"]
    assert 0 < a["reciprocity"] < 1 and 0 < a["clustering"] < 1
    cook = wc.degrees(worm.load_connectome("cook_2019_herm")).sort_values("degree", ascending=False)
    assert sum(worm.neuron_class(n) in worm.COMMAND_INTERNEURONS for n in cook.index[:10]) >= 5


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="name must be one of.*cook_2019_herm"):
        worm.load_connectome("cook_2019_hermaphrodite")
    with pytest.raises(ValueError, match="kind must be one of"):
        worm.load_connectome("white_1986", "gap")
    with pytest.raises(ValueError, match="kind must be one of 'contact'"):
        worm.load_connectome("brittin_2021", "chemical")
    with pytest.raises(ValueError, match="neuron must be one of.*AVAL"):
        worm.neuron_class("AVAX")
    with pytest.raises(ValueError, match="'AVX' is not a neuron, class or group name"):
        worm.subnetwork(worm.load_connectome("white_1986"), ["AVAL", "AVX"])
    with pytest.raises(ValueError, match="cls must be"):
        worm.neurons_in_class("commnd")
    with pytest.raises(ValueError, match="strain must be"):
        worm.load_signal_propagation("N2")


def test_missing_or_malformed_package_file(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        files._package_file("cect", "cache", "nothing.json")
    bad = tmp_path / "cect" / "cache"
    bad.mkdir(parents=True)
    (bad / "White_whole.json").write_text('{"nodes": ["AVAL"], "connections": {"Generic_CS": [[1, 2]]}}')
    monkeypatch.setattr(files, "_package_dir", lambda p: tmp_path / p)
    with pytest.raises(ValueError, match="White_whole.json is malformed"):
        connectomes._parse_cect(registry._REGISTRY["white_1986"])


def test_parsed_annotations_are_cached_on_disk_and_reread_identically(tmp_path, monkeypatch):
    """The first load parses cect's JSON and writes a cache file; a fresh process state reads it back
    to the same arrays (timings are for the benchmark, not for tests)."""
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))
    connectomes._parsed.cache_clear()
    first = worm.load_connectome("witvliet_2021_8")
    assert list((tmp_path / "worm").glob("cect-witvliet_2021_8*"))
    connectomes._parsed.cache_clear()
    again = worm.load_connectome("witvliet_2021_8")
    np.testing.assert_array_equal(first.weights, again.weights)
    np.testing.assert_array_equal(first.present, again.present)
    connectomes._parsed.cache_clear()


def test_transmitter_split_annotation():
    c = worm.load_connectome("wang_2024_herm")
    nt = worm.synapse_transmitters("wang_2024_herm")
    assert {"Acetylcholine", "Glutamate", "GABA"} <= set(nt)
    union = np.any(np.stack(list(nt.values())), axis=0)
    np.testing.assert_array_equal(union, c.weights > 0)              # chemical = any transmitter
    assert set(np.unique(c.weights)) <= {0.0, 1.0} and c.coverage == 302
    # GABA comes from the GABAergic classes (White's D-type motor neurons among them)
    gaba_pre = {worm.neuron_class(n) for n, row in zip(c.neurons, nt["GABA"]) if row.any()}
    assert {"DD", "VD"} <= gaba_pre
    with pytest.raises(ValueError, match="splits synapses by transmitter"):
        worm.synapse_transmitters("cook_2019_herm")
    with pytest.raises(ValueError, match="Close matches: wang_2024_herm"):
        worm.synapse_transmitters("wang_2024_hrem")


def test_cell_category():
    assert worm.cell_category("AVAL") == "hermaphrodite neuron"
    assert worm.cell_category("DVE") == "male neuron"
    assert worm.cell_category("MDL05") == "muscle"
    assert worm.cell_category("GLRL") == "other"


def test_published_counts_match_the_loader_and_catch_a_shuffle():
    table = wc.published_table()
    assert len(table) == len(wc.PUBLISHED) and table.match.all(), table[~table.match]
    shuffled = wc.published_table(lambda n, k: wc.load_annotation(n, k, control="shuffle", seed=0))
    assert (~shuffled.match).sum() >= 3


def test_shuffle_control_keeps_sizes_and_degrees_but_not_names():
    c = worm.load_connectome("cook_2019_herm", "all")
    s = wc.load_annotation("cook_2019_herm", "all", control="shuffle", seed=3)
    assert s.neurons == c.neurons and s.coverage == c.coverage and s.n_edges == c.n_edges
    assert np.allclose(np.sort(s.weights.sum(1)), np.sort(c.weights.sum(1)))
    assert not np.allclose(s.weights, c.weights)
    again = wc.load_annotation("cook_2019_herm", "all", control="shuffle", seed=3)
    assert np.array_equal(again.weights, s.weights)                     # same seed, same permutation
    with pytest.raises(ValueError, match="control"):
        wc.load_annotation("cook_2019_herm", control="random")


def test_rewiring_preserves_degrees_and_strengths():
    c = worm.load_connectome("white_1986")
    w = np.where(np.eye(302, dtype=bool), 0.0, c.weights)
    r = wc.rewire_directed(w, swaps_per_edge=2, seed=1)
    a, b = w > 0, r > 0
    assert np.array_equal(a.sum(0), b.sum(0)) and np.array_equal(a.sum(1), b.sum(1))
    assert np.allclose(w.sum(1), r.sum(1)) and not np.diag(r).any()
    assert (a & b).sum() < 0.5 * a.sum()                                # most edges moved


def test_weighted_auc_equals_sklearn_with_unit_weights_and_repeats_with_counts():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    score = rng.integers(0, 5, 300).astype(float)                       # many ties
    label = rng.random(300) < 0.3
    assert np.isclose(wc.weighted_auc(score, label, np.ones((1, 300)))[0], roc_auc_score(label, score))
    idx = rng.integers(0, 300, 300)
    counts = np.bincount(idx, minlength=300)[None].astype(float)
    assert np.isclose(wc.weighted_auc(score, label, counts)[0], roc_auc_score(label[idx], score[idx]))


def test_preregistered_test_and_summary_numbers(sp):
    c = worm.load_connectome("cook_2019_herm", "all")
    t = wc.preregistered_test(c, sp, n_null=2, n_boot=50, swaps_per_edge=1, seed=0)
    assert np.isclose(t["auc"], wc.anatomy_function_auc(c, sp)["auc"])
    assert t["ci_low"] <= t["gain"] <= t["ci_high"] and t["ci_low"] > 0
    everything = {i.name: worm.load_connectome(i.name, i.kinds[0]) for i in worm.list_connectomes()}
    import pandas as pd
    auc = pd.DataFrame({"cook_2019_herm": {"direct": t["auc"], "two-step": 0.6}}).T
    out = wc.summary_numbers(everything, auc, wc.published_table(), t)
    assert out["published_counts_mismatched"] == 0 and out["extra_kept_apart"]
    assert out["prereg_gain_ci_low"] > 0 and out["n_command_in_cook_top10_hubs"] >= 5
    with pytest.raises(ValueError, match="n_boot"):
        wc.preregistered_test(c, sp, n_boot=1)


def test_q_threshold_takes_any_real_number_in_range(sp):
    c = worm.load_connectome("cook_2019_herm")
    a = wc.anatomy_function_auc(c, sp, q_threshold=0.05)
    assert wc.anatomy_function_auc(c, sp, q_threshold=np.float64(0.05)) == a
    for bad in (True, 0.0, 1.0, "0.05"):
        with pytest.raises(ValueError, match="'q_threshold' must be a number in"):
            wc.anatomy_function_auc(c, sp, q_threshold=bad)


def test_spearman_of_a_constant_side_is_nan_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # numpy's divide warning would raise here
        rho, n = wc.weight_rank_correlation(worm.load_connectome("wang_2024_herm"), worm.load_connectome("white_1986"))
        assert np.isnan(rho) and n > 1000                  # Wang 2024 records presence only: a constant side


def test_neighbourhood_refuses_mismatched_orders(sp):
    a = worm.load_connectome("cook_2019_herm")
    b = worm.subnetwork(worm.load_connectome("white_1986"), "command")
    with pytest.raises(ValueError, match="b must be on the same neuron order as a"):
        wc.neighbourhood(a, b, sp, "AVAL")
    with pytest.raises(ValueError, match="Close matches"):
        wc.neighbourhood(a, a, sp, "AVAX")
