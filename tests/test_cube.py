"""The cube on a hand-built case: values, undefined depth, categorical coordinates, round trip through NetCDF."""

import numpy as np
import xarray as xr

from pdepth import cube


def test_cube_round_trip_with_coarse_labels(tmp_path):
    k, classes = 3, ("a", "b")
    # 2 examples, 1 seed, 3 layers; example 0 agrees from layer 1 on (pd 1), example 1 never (undefined)
    knn_pred = np.array([[[1, 0, 0]], [[0, 0, 0]]], np.int16)
    pred = np.array([[0], [1]], np.int16)
    votes = np.zeros((2, 1, 3, 2), np.uint8)
    votes[np.arange(2)[:, None], 0, np.arange(3)[None, :], knn_pred[:, 0, :]] = 2  # 2 of 3 votes for the probe's class
    votes[..., :] += (votes == 0).astype(np.uint8)  # the remaining vote for the other class
    built = cube.build(
        example_index=np.array([5, 9]),
        labels=np.array([0, 0]),
        orig_split=np.array([0, 1]),
        orig_index=np.array([5, 0]),
        classes=classes,
        seeds=[0],
        in_train=np.array([[True], [False]]),
        pred=pred,
        knn_pred=knn_pred,
        votes=votes,
        layer_names=["input", "hidden.0", "softmax"],
        layer_dims=[4, 2, 2],
        layer_reductions=["none", "none", "none"],
        k=k,
        attrs={"dataset": "toy"},
        categorical_coords={"coarse_label": (np.array([1, 0]), ("animals", "vehicles"))},
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
