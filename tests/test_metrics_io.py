"""PSNR/SSIM against their definitions and scikit-image; image IO round trips and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from pnp.io import ImageError, atomic_write_bytes, read_image, write_image, to_tensor, to_uint8
from pnp.metrics import psnr, ssim


def test_psnr_is_per_image_with_peak_one():
    reference = torch.zeros(2, 1, 8, 8)
    x = reference.clone()
    x[0] += 0.1  # MSE 0.01 -> 20 dB
    x[1] += 0.01  # MSE 1e-4 -> 40 dB
    assert torch.allclose(psnr(x, reference).double(), torch.tensor([20.0, 40.0], dtype=torch.float64), atol=1e-4)


def test_ssim_matches_scikit_image(generator):
    reference = torch.rand(1, 3, 41, 37, generator=generator)
    x = (reference + 0.1 * torch.randn(reference.shape, generator=generator)).clamp(0, 1)
    expected = structural_similarity(
        x[0].numpy(), reference[0].numpy(), channel_axis=0, data_range=1.0,
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    )
    assert abs(float(ssim(x, reference)[0]) - expected) < 1e-5
    assert abs(float(ssim(reference, reference)[0]) - 1) < 1e-6


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(ValueError):
        psnr(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))


@pytest.mark.parametrize("shape", [(21, 17), (21, 17, 3)])
def test_image_round_trip(tmp_path, generator, shape):
    array = (torch.rand(shape, generator=generator) * 255).round().to(torch.uint8).numpy()
    image = to_tensor(array)
    assert image.shape == (1, 1 if len(shape) == 2 else 3, 21, 17)
    write_image(tmp_path / "out" / "x.png", image)
    assert np.array_equal(to_uint8(read_image(tmp_path / "out" / "x.png").image).squeeze(), array)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x.png"], "no temporary file left behind"


def test_read_image_errors(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        read_image(tmp_path / "missing.png").image
    (tmp_path / "fake.png").write_text("hello")
    with pytest.raises(ImageError):
        read_image(tmp_path / "fake.png").image


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_bytes(target, b"first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16_bit_and_alpha_round_trip(tmp_path, generator, suffix, channels):
    from pnp.io import read_image, write_image

    values = torch.randint(0, 65536, (1, channels, 13, 11), generator=generator).float() / 65535
    colour, alpha = (values[:, :3], values[:, 3:]) if channels == 4 else (values, None)
    write_image(tmp_path / f"x{suffix}", colour, bit_depth=16, alpha=alpha)
    data = read_image(tmp_path / f"x{suffix}")
    assert data.bit_depth == 16
    assert torch.equal(data.image, colour)
    assert (data.alpha is None) == (alpha is None)
    if alpha is not None:
        assert torch.equal(data.alpha, alpha)


def test_palette_and_rgba_8_bit(tmp_path):
    from PIL import Image

    from pnp.io import read_image, write_image

    rgba = np.zeros((9, 7, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 128
    Image.fromarray(rgba).save(tmp_path / "a.png")
    data = read_image(tmp_path / "a.png")
    assert data.bit_depth == 8 and data.image.shape == (1, 3, 9, 7) and data.alpha.shape == (1, 1, 9, 7)
    write_image(tmp_path / "b.png", data.image, alpha=data.alpha)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "b.png")), rgba)
    Image.fromarray(rgba[..., :3]).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").image.shape == (1, 3, 9, 7)
    write_image(tmp_path / "c.jpg", data.image, alpha=data.alpha)  # JPEG drops alpha
    assert Image.open(tmp_path / "c.jpg").mode == "RGB"
    with pytest.raises(ImageError, match="unknown image format"):
        write_image(tmp_path / "d.xyz", data.image)


def test_ssim_by_strips_equals_the_whole_map(generator, monkeypatch):
    import pnp.metrics as metrics

    reference = torch.rand(2, 3, 53, 29, generator=generator)
    x = (reference + 0.1 * torch.randn(reference.shape, generator=generator)).clamp(0, 1)
    whole = ssim(x, reference)
    monkeypatch.setattr(metrics, "_STRIP", 7)  # 43 output rows: 6 full strips and a partial one
    torch.testing.assert_close(ssim(x, reference), whole, rtol=0, atol=1e-6)
    expected = structural_similarity(x[1].numpy(), reference[1].numpy(), channel_axis=0, data_range=1.0,
                                     gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert abs(float(ssim(x, reference)[1]) - expected) < 1e-5


def test_exif_orientation_is_applied_on_reading_and_said(tmp_path):
    """A camera JPEG stored sideways with orientation 6 is read upright, so the written result shows
    as the input does (it has no tag to rotate it)."""
    from PIL import Image

    from pnp.io import read_image, write_image

    stored = np.zeros((10, 16, 3), dtype=np.uint8)
    stored[:, :4] = 255  # a bright band on the stored left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    Image.fromarray(stored).save(tmp_path / "sideways.jpg", exif=exif, quality=100)
    data = read_image(tmp_path / "sideways.jpg")
    assert data.image.shape == (1, 3, 16, 10), "read as displayed: portrait"
    assert float(data.image[0, :, :4].mean()) > 0.9 and float(data.image[0, :, -4:].mean()) < 0.1, "band on top"
    assert any("EXIF orientation 6" in note for note in data.notes)
    write_image(tmp_path / "out.jpg", data.image)
    with Image.open(tmp_path / "out.jpg") as written:
        assert written.size == (10, 16) and written.getexif().get(0x0112, 1) == 1


def test_what_reading_changes_is_said(tmp_path):
    from PIL import Image

    from pnp.io import read_image

    rgb = (np.random.default_rng(0).random((9, 7, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").notes == ("palette image: processed and written as RGB",)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg")
    assert read_image(tmp_path / "c.jpg").notes == ("CMYK image: processed and written as RGB",)
    frames = [Image.fromarray(np.full((9, 7, 3), v, dtype=np.uint8)) for v in (10, 200, 90)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    assert "has 3 frames; only the first" in read_image(tmp_path / "a.gif").notes[0]
    Image.fromarray(rgb).save(tmp_path / "plain.png")
    assert read_image(tmp_path / "plain.png").notes == ()


def test_float_tiff_round_trips_as_float_and_clipping_is_said(tmp_path):
    import tifffile

    from pnp.io import read_image, write_image

    values = np.random.default_rng(1).random((6, 5, 3)).astype(np.float32)
    tifffile.imwrite(tmp_path / "f.tif", values)
    data = read_image(tmp_path / "f.tif")
    assert data.bit_depth == 32 and data.notes == ()
    write_image(tmp_path / "g.tif", data.image, bit_depth=data.bit_depth)
    written = tifffile.imread(tmp_path / "g.tif")
    assert written.dtype == np.float32 and np.array_equal(written, values), "float pixels kept exactly"
    write_image(tmp_path / "g.png", data.image, bit_depth=data.bit_depth)
    assert read_image(tmp_path / "g.png").bit_depth == 16, "PNG has no float pixels: 16 bits"
    tifffile.imwrite(tmp_path / "h.tif", values * 1.5 - 0.25)
    assert "clipped to [0, 1]" in read_image(tmp_path / "h.tif").notes[0]
