"""Kernel sources and validation (pnp.operators.kernels)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from pnp.operators import KernelError, kernels


def _assert_valid(k: torch.Tensor) -> None:
    assert k.ndim == 2 and k.shape[0] % 2 == 1 and k.shape[1] % 2 == 1
    assert k.dtype == torch.float32
    assert (k >= 0).all()
    assert abs(float(k.sum()) - 1) < 1e-5


@pytest.mark.parametrize("index", range(1, 9))
def test_levin_kernels_ship_and_are_valid(index):
    k = kernels.levin(index)
    _assert_valid(k)
    assert 13 <= k.shape[0] <= 27


@pytest.mark.parametrize("index", [0, 9, 2.0, "3"])
def test_levin_rejects_bad_index(index):
    with pytest.raises(KernelError, match="1..8"):
        kernels.levin(index)


def test_motion_is_reproducible_long_and_seed_dependent():
    a, b, c = kernels.motion(31, seed=3), kernels.motion(31, seed=3), kernels.motion(31, seed=4)
    _assert_valid(a)
    assert a.shape == (31, 31)
    assert torch.equal(a, b) and not torch.equal(a, c)
    support = (a > 1e-3 * a.max()).nonzero()
    extent = (support.max(0).values - support.min(0).values).max()
    assert extent >= 10, "the default motion kernel should be a visibly long blur"


def test_motion_even_size_becomes_odd():
    assert kernels.motion(12, seed=0).shape == (13, 13)


def test_gaussian_and_box_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = kernels.gaussian(1.5)
        b = kernels.box(5)
    _assert_valid(g)
    assert g.shape == (11, 11)
    assert torch.allclose(b, torch.full((5, 5), 1 / 25))


def test_validate_pads_even_sizes_and_normalises_with_warnings():
    with pytest.warns(UserWarning, match="even size"):
        k = kernels.validate(np.ones((4, 6)) / 24)
    assert k.shape == (5, 7)
    with pytest.warns(UserWarning, match="normalised"):
        k = kernels.validate(np.ones((3, 3)))
    _assert_valid(k)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.ones(5), "2-D"),
        (np.ones((0, 3)), "empty"),
        (np.array([[1.0, np.nan, 1.0]]), "NaN"),
        (np.array([[1.0, -0.5, 1.0]]), "negative"),
        (np.zeros((3, 3)), "all zeros"),
    ],
)
def test_validate_rejects_bad_kernels(array, message):
    with pytest.raises(KernelError, match=message):
        kernels.validate(array)


def test_load_npy_txt_png_agree(tmp_path):
    k = kernels.levin(2).numpy()
    np.save(tmp_path / "k.npy", k)
    np.savetxt(tmp_path / "k.txt", k)
    np.savetxt(tmp_path / "k.csv", k, delimiter=",")
    Image.fromarray(np.round(k / k.max() * 255).astype(np.uint8)).save(tmp_path / "k.png")
    for name in ("k.npy", "k.txt", "k.csv"):
        assert torch.allclose(kernels.load(tmp_path / name), torch.from_numpy(k), atol=1e-6)
    from_png = kernels.load(tmp_path / "k.png")
    _assert_valid(from_png)
    assert (from_png - torch.from_numpy(k)).abs().max() < 0.01 * k.max()


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(KernelError, match="not found"):
        kernels.load(tmp_path / "missing.npy")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(KernelError, match="cannot read"):
        kernels.load(tmp_path / "bad.png")


@pytest.mark.parametrize(
    "spec, shape",
    [("levin4", None), ("LEVIN4", None), ("motion", (31, 31)), ("gaussian:2", (13, 13)), ("box:3", (3, 3))],
)
def test_from_spec(spec, shape):
    k = kernels.from_spec(spec)
    _assert_valid(k)
    if shape is not None:
        assert k.shape == shape
    if spec.lower() == "levin4":
        assert torch.equal(k, kernels.levin(4))


@pytest.mark.parametrize("spec", ["blurry", "gaussian:abc", "box:2.5", "gaussian:-1", "levin12"])
def test_from_spec_rejects_bad_specs(spec):
    with pytest.raises(KernelError):
        kernels.from_spec(spec)
