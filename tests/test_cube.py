"""The cube on a hand-built case: values, undefined depth, categorical coordinates, round trip through NetCDF."""

import numpy as np
import xarray as xr

from pdepth.outputs import cube


def test_cube_round_trip_with_coarse_labels(tmp_path):
    k, classes = 3, ("a", "b")
    # 2 examples, 1 seed, 3 layers; example 0 agrees from layer 1 on (pd 1), example 1 never (undefined)
    knn_pred = np.array([[[1, 0, 0]], [[0, 0, 0]]], np.int16)
    pred = np.array([[0], [1]], np.int16)
    votes = np.zeros((2, 1, 3, 2), np.uint8)
    votes[np.arange(2)[:, None], 0, np.arange(3)[None, :], knn_pred[:, 0, :]] = 2  # 2 of 3 votes for the probe's class
    votes[..., :] += (votes == 0).astype(np.uint8)  # the remaining vote for the other class
    built = cube.build(
        cube.ExampleCoords(
            index=np.array([5, 9]),
            labels=np.array([0, 0]),
            classes=classes,
            orig_split=np.array([0, 1]),
            orig_index=np.array([5, 0]),
            categorical={"coarse_label": (np.array([1, 0]), ("animals", "vehicles"))},
        ),
        cube.SeedResults([0], np.array([[True], [False]]), pred, knn_pred, votes),
        cube.Probes(["input", "hidden.0", "softmax"], [4, 2, 2], ["none"] * 3, k),
        {"dataset": "toy"},
    )
    cube.write(built, tmp_path / "cube.nc")
    read = xr.open_dataset(tmp_path / "cube.nc")
    np.testing.assert_array_equal(read.pd.values[:, 0], [1, np.nan])
    assert read.pd.attrs["undefined_fraction"] == 0.5
    np.testing.assert_allclose(read.knn_conf.values, 2 / 3, rtol=1e-6)
    np.testing.assert_allclose(read.knn_true_conf.values[0, 0], [1 / 3, 2 / 3, 2 / 3], rtol=1e-6)
    np.testing.assert_array_equal(read.coarse_label, [1, 0])
    assert read.coarse_label.attrs["flag_meanings"] == "animals vehicles"
    np.testing.assert_array_equal(read.example, [5, 9])
    assert read.attrs["dataset"] == "toy" and read.label.attrs["flag_meanings"] == "a b"


def test_largest_k_and_deepest_mlp_of_the_schema_round_trip_without_overflow(tmp_path):
    """Votes and depths are stored in types that hold every value the schema accepts (k up to its maximum, the
    deepest MLP's probe count): k = 1000 votes read back as a confidence of 1, the deepest depth stays positive."""
    from pdepth import schema
    from pdepth.models import registry
    from pdepth.models.architectures import ARCHITECTURES
    from pdepth.probing import knn

    properties = schema.load()["properties"]
    k = properties["probe"]["properties"]["k"]["maximum"]
    hidden_layers = ARCHITECTURES["mlp"].bounds["hidden_layers"][1]
    shape = registry.InputShape(channels=1, height=2, width=2, num_classes=2)
    layers = len(registry.build("mlp", shape, {"hidden_layers": hidden_layers, "width": 2}).probe_names())
    assert layers > 128 and knn.vote_dtype(k) == np.uint16 and knn.vote_dtype(255) == np.uint8  # beyond 8 bits
    # 2 examples, 1 seed: example 0 agrees only at the last probe (the deepest depth), example 1 everywhere
    knn_pred = np.ones((2, 1, layers), np.int16)
    knn_pred[0, 0, :-1] = 0
    votes = np.zeros((2, 1, layers, 2), knn.vote_dtype(k))
    np.put_along_axis(votes, knn_pred[..., None].astype(np.int64), k, axis=-1)  # all k votes for the probe's class
    built = cube.build(
        cube.ExampleCoords(np.arange(2), np.array([1, 1]), ("a", "b"), np.array([0, 1]), np.arange(2)),
        cube.SeedResults([0], np.array([[True], [False]]), np.ones((2, 1), np.int16), knn_pred, votes),
        cube.Probes([f"p{i}" for i in range(layers)], [2] * layers, ["none"] * layers, k),
        {"dataset": "toy"},
    )
    cube.write(built, tmp_path / "cube.nc")
    read = xr.open_dataset(tmp_path / "cube.nc")
    np.testing.assert_array_equal(read.pd.values[:, 0], [layers - 1, 0])
    np.testing.assert_allclose(read.knn_conf.values, 1.0)
    assert int(read.depth.max()) == layers - 1
