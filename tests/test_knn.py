"""k-NN probes on tiny hand-made point sets with known neighbours and votes."""

from dataclasses import replace

import numpy as np
import pytest

from pdepth.probing import knn
from pdepth.probing.depth import UNDEFINED, prediction_depth
from pdepth.probing.knn import Neighbours, ProbeSettings, drop_self, exact_neighbours, probe, vote

EXACT = ProbeSettings.defaults(k=1, backend="exact")


def test_exact_neighbours_in_distance_order():
    support = np.array([[0.0], [1.0], [3.0], [7.0]])
    found = exact_neighbours(support, np.array([[2.2], [6.0]]), k=2)
    np.testing.assert_array_equal(found.indices, [[2, 1], [3, 2]])
    np.testing.assert_allclose(found.distances, [[0.8, 1.2], [1.0, 3.0]], rtol=1e-5)


def test_exact_neighbours_chunking_changes_nothing():
    rng = np.random.default_rng(0)
    support, queries = rng.normal(size=(300, 5)), rng.normal(size=(77, 5))
    whole, chunked = exact_neighbours(support, queries, 7, chunk=1000), exact_neighbours(support, queries, 7, chunk=8)
    np.testing.assert_array_equal(whole.indices, chunked.indices)


def test_the_padded_support_gives_every_point_and_never_a_pad():
    """The multiply runs on the support padded to a multiple of 64 points: asking for all 4 real points gives each
    exactly once, in distance order; asking for more than there are is an error, not a padding index."""
    support, queries = np.array([[0.0], [1.0], [3.0], [7.0]]), np.array([[2.2], [-1.0], [100.0]])
    found = exact_neighbours(support, queries, k=4)
    np.testing.assert_array_equal(found.indices, [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]])
    np.testing.assert_allclose(found.distances, np.abs(queries - support[found.indices][..., 0]), rtol=1e-5)
    with pytest.raises(ValueError, match="5 neighbours from 4 support points"):
        exact_neighbours(support, queries, k=5)
    overflowing = exact_neighbours(support * 1e20, queries * 1e20, k=4)  # ‖s‖² = inf ties with the padding's
    assert overflowing.indices.min() >= -1 and overflowing.indices.max() < len(support)


@pytest.mark.parametrize(
    ("n", "k", "chunk", "tile"), [(150, 7, 64, 16), (150, 7, 37, 5), (40, 6, 3, 4), (70, 69, 2048, 512)]
)
def test_support_among_themselves_equals_brute_force(monkeypatch, n, k, chunk, tile):
    """Each pair's product once, in chunks and transposed tiles of any size (chunks of fewer rows than k included):
    every point's k nearest others, itself excluded, as a float64 brute force finds them."""
    monkeypatch.setattr(knn, "TRANSPOSED_TILE", tile)
    points = np.random.default_rng(n + k).normal(size=(n, 6))
    found = knn.ExactSupport(points, k).among_themselves(chunk)
    squared = ((points[:, None] - points[None]) ** 2).sum(-1)
    np.fill_diagonal(squared, np.inf)
    expected = np.argsort(squared, axis=1)[:, :k]
    np.testing.assert_array_equal(found.indices, expected)
    np.testing.assert_allclose(found.distances, np.sqrt(np.take_along_axis(squared, expected, 1)), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=f"ask for fewer than {n}"):
        knn.ExactSupport(points, n).among_themselves(chunk)


def test_support_among_themselves_equals_the_search_that_drops_itself():
    """The same neighbours as asking every support point for k + 1 and dropping its own index, twins included."""
    rng = np.random.default_rng(3)
    points = rng.normal(size=(280, 3)).astype(np.float32)
    points = np.concatenate([points, points[:20]])  # exact duplicates: ties at distance 0
    k = 5
    among = knn.ExactSupport(points, k).among_themselves(chunk=64)
    dropped = drop_self(exact_neighbours(points, points, k + 1), np.arange(len(points)))
    np.testing.assert_allclose(among.distances, dropped.distances, atol=1e-4)
    assert (among.indices != np.arange(len(points))[:, None]).all()
    squared = ((points[:, None] - points[None]) ** 2).sum(-1)
    np.fill_diagonal(squared, np.inf)
    untied = (np.diff(np.sort(squared, axis=1)[:, : k + 1], axis=1) > 1e-4).all(1)  # the k + 1 nearest all apart
    assert 100 < untied.sum() < 280
    np.testing.assert_array_equal(among.indices[untied], dropped.indices[untied])


def test_drop_self_removes_the_own_index_wherever_it_is():
    found = Neighbours(np.array([[1, 0, 2], [0, 1, 2], [3, 2, 0]]), np.array([[0, 0, 1], [0, 0, 1], [1, 2, 3.0]]))
    kept = drop_self(found, np.array([0, 1, 1]))
    # row 0: self (0) in second place; row 1: self in second place; row 2: self missing -> drop the farthest
    np.testing.assert_array_equal(kept.indices, [[1, 2], [0, 2], [3, 2]])
    np.testing.assert_array_equal(kept.distances, [[0, 1], [0, 1], [1, 2]])


def test_exact_duplicate_still_votes_for_its_twin():
    """Two training images at the same point with different labels: each one's neighbour is the other."""
    embedding = np.array([[0.0], [0.0], [10.0], [10.5], [10.2]])
    labels = np.array([0, 1, 1, 1, 0])
    in_train = np.array([True, True, True, True, False])
    votes, pred = probe(embedding, in_train, labels, num_classes=2, settings=EXACT)
    # dropping every point at distance 0 would give both twins the neighbour at 10.0 (label 1)
    np.testing.assert_array_equal(pred, [1, 0, 1, 1, 1])
    np.testing.assert_array_equal(votes.sum(1), np.ones(5))


def test_vote_counts_and_nearest_first_tie_break():
    labels = np.array([[2, 1, 1, 2, 0], [0, 1, 1, 2, 2], [3, 3, 3, 0, -1]])
    votes, pred = vote(labels, num_classes=4)
    np.testing.assert_array_equal(votes, [[1, 2, 2, 0], [1, 2, 2, 0], [1, 0, 0, 3]])
    np.testing.assert_array_equal(pred, [2, 1, 3])


def test_one_dimensional_drift_gives_hand_derived_depths():
    """Support: class 0 at 0..9, class 1 at 100..109 in every layer. Three held-out points drift across layers."""
    support = np.concatenate([np.arange(10.0), np.arange(100.0, 110.0)])
    support_labels = np.repeat([0, 1], 10)
    paths = np.array(
        [
            [5, 5, 5, 5],  # stays in class 0
            [5, 5, 104, 105],  # moves to class 1 at layer 2
            [104, 5, 104, 105],  # class 1, then 0, then 1 from layer 2 on
        ]
    )
    labels = np.concatenate([support_labels, [0, 0, 0]])
    in_train = np.arange(23) < 20
    settings = ProbeSettings.defaults(k=3, backend="exact")
    knn_pred = np.stack(
        [
            probe(np.concatenate([support, paths[:, layer]])[:, None], in_train, labels, 2, settings)[1]
            for layer in range(4)
        ],
        axis=1,
    )
    np.testing.assert_array_equal(knn_pred[20:], [[0, 0, 0, 0], [0, 0, 1, 1], [1, 0, 1, 1]])
    network = np.array([0, 1, 1])
    np.testing.assert_array_equal(prediction_depth(knn_pred[20:], network), [0, 2, 2])
    assert prediction_depth(knn_pred[20:21], np.array([1]))[0] == UNDEFINED


@pytest.mark.parametrize("backend", ["exact", "pynndescent"])
def test_training_points_exclude_themselves(backend):
    """Every training point lies in a tight cluster of its class; with itself removed, the votes are k of k."""
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [50.0, 0.0], [0.0, 50.0]])
    labels = np.repeat(np.arange(3), 40)
    embedding = centres[labels] + rng.normal(size=(120, 2))
    in_train = rng.random(120) < 0.8
    settings = ProbeSettings.defaults(k=5, backend=backend, random_state=0, exact_work=0)
    votes, pred = probe(embedding, in_train, labels, 3, settings)
    np.testing.assert_array_equal(pred, labels)
    np.testing.assert_array_equal(votes.max(1), np.full(120, 5))


def test_no_queries_outside_the_training_split():
    embedding = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])
    votes, pred = probe(
        embedding, np.ones(6, bool), np.array([0, 0, 0, 1, 1, 1]), 2, ProbeSettings.defaults(k=2, backend="exact")
    )
    np.testing.assert_array_equal(pred, [0, 0, 0, 1, 1, 1])


def test_small_probes_are_searched_exactly_whatever_the_backend(monkeypatch):
    """Up to exact_work (examples x support x dims), a pynndescent probe is the exact probe; above it, pynndescent
    is used; on a GPU always the exact search."""
    rng = np.random.default_rng(3)
    embedding = rng.normal(size=(300, 8))
    labels = rng.integers(0, 4, 300)
    in_train = rng.random(300) < 0.7
    exact = probe(embedding, in_train, labels, 4, ProbeSettings.defaults(k=7, backend="exact"))
    work = 300 * in_train.sum() * 8
    small = probe(embedding, in_train, labels, 4, ProbeSettings.defaults(k=7, backend="pynndescent", exact_work=work))
    for ours, theirs in zip(small, exact, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    settings = ProbeSettings.defaults(backend="pynndescent", exact_work=1000)
    assert settings.backend_for(10, 10, 10) == "exact" and settings.backend_for(10, 10, 11) == "pynndescent"
    assert settings.searches(10, 10, [10, 11, 10]) == "per probe: exact, pynndescent, exact"
    assert settings.searches(10, 10, [5, 10]) == "exact"
    assert ProbeSettings.defaults(backend="pynndescent", exact_work=0).backend_for(5, 5, 5) == "pynndescent"  # 0: never
    gpu = ProbeSettings.defaults(backend="pynndescent", exact_work=0, device="cuda:0")
    assert gpu.backend_for(10**6, 10**6, 4096) == "exact"


def test_pynndescent_starts_only_where_a_models_probes_win_back_its_start_up():
    """Each probe beyond exact_work saves its work beyond it at exact_rate per thread: 1000 x 1000 x 100 = 1e8,
    9.9e7 beyond 1e6, at 1e7 per s on 1 thread: 9.9 s. A 20 s start-up is won back from 3 such probes on; on 2
    threads the exact search is twice as fast and needs 5. Sizes and threads decide, nothing else."""
    settings = ProbeSettings.defaults(
        backend="pynndescent", exact_work=1e6, exact_rate=1e7, n_jobs=1, pynndescent_startup=20.0
    )
    held_back = settings.planned(1000, 1000, [100, 100, 1])  # 19.8 s saved; a probe within exact_work saves nothing
    assert not held_back.start_pynndescent and held_back.searches(1000, 1000, [100, 1]) == "exact"
    started = settings.planned(1000, 1000, [100, 100, 100, 1])
    assert started.start_pynndescent and started.searches(1000, 1000, [100, 1]) == "per probe: pynndescent, exact"
    assert settings.backend_for(1000, 1000, 100) == "pynndescent"  # unplanned: exact_work alone (the workflow's rule)
    two_threads = replace(settings, n_jobs=2)
    assert not two_threads.planned(1000, 1000, [100] * 4).start_pynndescent
    assert two_threads.planned(1000, 1000, [100] * 5).start_pynndescent
    others = [replace(settings, exact_work=0), replace(settings, backend="exact"), replace(settings, device="cuda")]
    for unplanned in others:
        assert unplanned.planned(1000, 1000, [100]) == unplanned
