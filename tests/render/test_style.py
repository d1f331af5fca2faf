"""The palette check documented in surveyor/render/style.py: class colours stay apart for people
with colour-vision deficiencies (simulated) and on greyscale photocopies."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from surveyor.render import style as st
from surveyor.render.print_map import print_colour

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}


def to_linear(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def lab(linear_rgb):
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ np.clip(linear_rgb, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


FILLED = [c for c in st.CLASSES if c.fill_opacity > 0]


@pytest.mark.parametrize("vision", ["normal", *CVD])
def test_class_colours_stay_apart(vision):
    colours = {c.key: to_linear(print_colour(c)) for c in FILLED}
    if vision != "normal":
        colours = {k: np.asarray(CVD[vision]) @ v for k, v in colours.items()}
    labs = {k: lab(v) for k, v in colours.items()}
    gaps = {(a, b): float(np.linalg.norm(labs[a] - labs[b])) for a, b in itertools.combinations(labs, 2)}
    assert min(gaps.values()) >= 20, gaps


def test_greyscale_levels_or_hatching_differ():
    """On a photocopy two classes with close grey levels must differ in hatching."""
    def grey(c):
        return lab(to_linear(print_colour(c)))[0]

    for a, b in itertools.combinations(st.CLASSES, 2):
        if abs(grey(a) - grey(b)) < 10:
            assert a.hatch != b.hatch, (a.key, b.key)
    assert st.CLASS_BY_KEY["not_surveyed"].fill_opacity == 0  # never looks like a verdict
    assert len({c.hatch for c in st.CLASSES if c.key in ("dead", "marginal", "insufficient")}) == 3
