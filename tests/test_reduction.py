"""Bounding probe widths: dimensions, what is kept, and repeatability."""

import numpy as np
import pytest
import torch

from pdepth.probing.reduction import Reducer


def test_narrow_activations_pass_unchanged():
    x = torch.randn(4, 8, 5, 5)
    out = Reducer(200, 0, "pool")("stem", x)
    torch.testing.assert_close(out, x.flatten(1))
    assert Reducer(None, 0, "pool")("stem", torch.randn(2, 64, 32, 32)).shape == (2, 65536)


def test_spatial_pooling_keeps_channels_and_bounds_the_width():
    x = torch.randn(3, 64, 32, 32)
    reducer = Reducer(4096, 0, "pool")
    out = reducer("stem", x)
    assert out.shape == (3, 64 * 8 * 8)
    assert reducer.descriptions["stem"] == "average pool 32x32 -> 8x8"
    # the mean over the grid is preserved by average pooling
    torch.testing.assert_close(out.view(3, 64, 64).mean(-1), x.mean((-1, -2)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("shape", "max_dim"), [((128, 16, 16), 3000), ((512, 4, 4), 300), ((2048,), 1000)])
def test_dimension_is_bounded(shape, max_dim):
    out = Reducer(max_dim, 0, "pool")("layer", torch.randn(2, *shape))
    assert out.shape[0] == 2 and out.shape[1] <= max_dim


def test_projection_is_seeded_repeatable_and_keeps_distances():
    x = torch.randn(50, 3000)
    a, b = Reducer(500, 1, "project")("hidden.0", x), Reducer(500, 1, "project")("hidden.0", x)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, Reducer(500, 2, "project")("hidden.0", x))
    assert not torch.allclose(a, Reducer(500, 1, "project")("hidden.1", x))  # one matrix per probe
    original, projected = torch.cdist(x, x), torch.cdist(a, a)
    ratio = (projected / original)[~torch.eye(50, dtype=bool)]
    assert np.abs(ratio.numpy() - 1).max() < 0.25  # Johnson-Lindenstrauss at 500 dimensions


def test_projection_is_the_same_for_every_batch():
    x = torch.randn(10, 3000)
    reducer = Reducer(100, 0, "project")
    whole = reducer("l", x)
    parts = torch.cat([reducer("l", x[:4]), reducer("l", x[4:])])
    torch.testing.assert_close(whole, parts)
