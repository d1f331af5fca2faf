"""The palette check documented in surveyor/render/style.py: class colours stay apart for people
with colour-vision deficiencies (simulated), and on a greyscale photocopy of the printed map "no
usable 4G" is the class that stands out most."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from surveyor.render import style as st
from surveyor.render.mapdraw import print_colour

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


FILLED = [c for c in st.CLASSES if c.print_opacity > 0]


@pytest.mark.parametrize("vision", ["normal", *CVD])
def test_class_colours_stay_apart(vision):
    colours = {c.key: to_linear(print_colour(c)) for c in FILLED}
    if vision != "normal":
        colours = {k: np.asarray(CVD[vision]) @ v for k, v in colours.items()}
    labs = {k: lab(v) for k, v in colours.items()}
    gaps = {(a, b): float(np.linalg.norm(labs[a] - labs[b])) for a, b in itertools.combinations(labs, 2)}
    assert min(gaps.values()) >= 20, gaps


def photocopy_lightness(cls: st.CoverageClass) -> float:
    """Mean CIELAB lightness of a class as printed (fill and hatch, as the map draws a cell) and
    photocopied: rendered at 150 dpi, turned grey the way a copier does (luma)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    from surveyor.render.print_map import RC

    with plt.rc_context(RC):
        fig = plt.figure(figsize=(1, 1), dpi=150)
        ax = fig.add_axes([0, 0, 1, 1])
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        face = [(*matplotlib.colors.to_rgb(cls.colour), cls.print_opacity)] if cls.print_opacity else "none"
        ax.add_collection(PolyCollection([[(0, 0), (1, 0), (1, 1), (0, 1)]], facecolors=face, edgecolors="none",
                                         hatch=cls.hatch or None, hatchcolor=cls.hatch_colour))
        fig.canvas.draw()
        rgb = np.asarray(fig.canvas.buffer_rgba())[10:-10, 10:-10, :3] / 255.0
        plt.close(fig)
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    return float(lab(to_linear(np.array([grey.mean()] * 3)))[0])


def test_no_usable_4g_stands_out_on_a_photocopy():
    """Each class's nearest neighbour in photocopied lightness: for "no usable 4G" it is farther
    than for any other class (paper white counts as a class: the ground a cell is read against)."""
    levels = {c.key: photocopy_lightness(c) for c in st.CLASSES}
    levels["paper"] = 100.0

    def nearest(key):
        return min(abs(levels[key] - v) for k, v in levels.items() if k != key)

    dead = nearest("dead")
    assert dead >= 18, levels
    assert all(dead > nearest(k) for k in levels if k != "dead"), levels
    assert levels["dead"] == min(levels.values())  # the darkest: read first, as on the colour map


def test_classes_with_close_greys_differ_in_hatching():
    """On a photocopy two classes with close grey levels must differ in hatching."""
    levels = {c.key: photocopy_lightness(c) for c in st.CLASSES}
    for a, b in itertools.combinations(st.CLASSES, 2):
        if abs(levels[a.key] - levels[b.key]) < 10:
            assert a.hatch != b.hatch, (a.key, b.key)
    assert st.CLASS_BY_KEY["not_surveyed"].print_opacity == 0  # never looks like a verdict
    assert len({c.hatch for c in st.CLASSES if c.key in ("dead", "marginal", "insufficient")}) == 3


def test_class_words_are_the_glossary():
    from surveyor.i18n import glossary

    for c in st.CLASSES:
        for lang in ("id", "en"):
            assert c.label(lang) == glossary.label(c.key, lang)
            assert c.meaning(lang) == glossary.meaning(c.key, lang)
