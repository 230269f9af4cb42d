"""The figure PNG writer against independent decoders and encoders: Pillow reads back the exact
pixels, resolution and text, and a figure saved by veilperf has the pixels matplotlib's own
``savefig`` gives."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from veilperf.analysis.figures.style import STYLE, new_figure, save_figure
from veilperf.analysis.figures.png import encode_png


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # decompresses and checks every chunk's CRC
    return image


def test_pillow_reads_back_the_pixels_resolution_and_text():
    rng = np.random.default_rng(7)
    rgba = rng.integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    data = encode_png(rgba, 150, {"Description": "veilperf-inputs:abc", "Title": "µs"})
    image = decoded(data)
    assert image.mode == "RGB" and image.size == (53, 37)
    assert np.array_equal(np.asarray(image), rgba[:, :, :3])
    assert image.info["dpi"] == pytest.approx((150, 150), abs=0.02)
    assert image.info["Description"] == "veilperf-inputs:abc" and image.info["Title"] == "µs"
    assert encode_png(rgba, 150, {"Description": "veilperf-inputs:abc", "Title": "µs"}) == data  # same input, same bytes


def test_a_saved_figure_has_the_pixels_of_matplotlibs_own_savefig(tmp_path: Path):
    with matplotlib.rc_context(STYLE):
        figure = new_figure(4, 3)
        axes = figure.add_subplot()
        axes.bar(["a", "b", "c"], [1.0, 3.5, 2.0], color="#d62728")
        axes.set_title("overhead (%)")
        reference = io.BytesIO()
        figure.savefig(reference, format="png")
    ours = save_figure(figure, tmp_path / "f.png", "png", key="k" * 32)
    expected = np.asarray(decoded(reference.getvalue()).convert("RGB"))
    assert np.array_equal(np.asarray(decoded(ours.read_bytes())), expected)


@pytest.mark.parametrize("shape, dtype", [((4, 4, 3), np.uint8), ((4, 4), np.uint8), ((4, 4, 4), np.float32)])
def test_anything_but_an_rgba_byte_image_is_refused(shape, dtype):
    with pytest.raises(ValueError, match="uint8 image"):
        encode_png(np.zeros(shape, dtype), 100)
