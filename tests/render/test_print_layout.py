"""The printed map's layout, by geometry: on every paper, orientation and the WhatsApp size, every
text and legend is inside the page, nothing outside the map frames touches them or another block,
labels on the map stay inside it and off each other, the map fills its frame (no empty bands) and
type grows with the paper."""

from __future__ import annotations

import itertools
import statistics

import pytest

from surveyor.config import Settings
from surveyor.render import print_map
from surveyor.render.mapdraw import LABEL_GID
from surveyor.store import open_store

CASES = [("A4", "landscape", None), ("A4", "portrait", None), ("A3", "landscape", None),
         ("A3", "portrait", None), ("A4", "landscape", "whatsapp"), ("A4", "portrait", "whatsapp")]


def _ids(case):
    paper, orientation, size = case
    return f"{size or paper}-{orientation}"


def blocks(fig):
    """(page, map frames, blocks outside the maps, labels inside the maps) as display-space boxes."""
    from matplotlib.legend import Legend
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    w, h = fig.get_size_inches() * fig.dpi
    page = Bbox.from_extents(0, 0, w, h)
    maps = [ax for ax in fig.axes if ax.get_gid() == print_map.MAP_GID]
    in_legend = set()
    outside, labels = [], []
    for leg in fig.legends:
        in_legend |= {id(t) for t in leg.get_texts()} | {id(leg.get_title())}
        outside.append(("legend", leg.get_window_extent(renderer)))
    for t in fig.findobj(Text):
        if id(t) in in_legend or not t.get_visible() or not t.get_text().strip():
            continue
        patch = t.get_bbox_patch()
        box = patch.get_window_extent(renderer) if patch is not None else t.get_window_extent(renderer)
        if t.get_gid() == LABEL_GID:
            labels.append((t.get_text(), box, t.axes))
        elif t.axes is None or t.axes.get_gid() != print_map.MAP_GID:
            outside.append((t.get_text()[:40], box))
    parts = {}
    for a in fig.artists + fig.patches:  # the scale bar's four pieces are one block; the north arrow
        parts.setdefault(a.get_gid() or id(a), []).append(a.get_window_extent(renderer))
    for gid, boxes in parts.items():
        outside.append((str(gid), Bbox.union(boxes)))
    assert not [a for ax in maps for a in ax.findobj(Legend)], "a legend drawn on the map"
    return page, maps, outside, labels


def _inside(box, frame, tol=0.5) -> bool:
    return (box.x0 >= frame.x0 - tol and box.y0 >= frame.y0 - tol and box.x1 <= frame.x1 + tol
            and box.y1 <= frame.y1 + tol)


@pytest.fixture(scope="module")
def sheets_of(mapped_db):
    """Every case's sheets: the PNG's one sheet (all operators) and the PDF's page per operator."""
    import matplotlib.pyplot as plt

    made = {}
    with open_store(str(mapped_db)) as store:
        for case in CASES:
            paper, orientation, size = case
            figs = print_map.sheets(store, Settings(), paper=paper, orientation=orientation, size=size, lang="id")
            if size is None:
                figs += print_map.sheets(store, Settings(), paper=paper, orientation=orientation, lang="en",
                                         one_per_operator=True)
            made[case] = figs
        zones = list(store.read_layer("dead_zones")["zone_id"])
    yield made, zones
    for figs in made.values():
        for f in figs:
            plt.close(f)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_nothing_leaves_the_page_or_covers_the_map_or_another_block(sheets_of, case):
    made, _zones = sheets_of
    for fig in made[case]:
        page, maps, outside, labels = blocks(fig)
        assert maps, "no map frame"
        frames = [ax.get_window_extent() for ax in maps]
        for name, box in outside:
            assert _inside(box, page), (name, box, page)
            for frame in frames:
                assert not box.overlaps(frame), (name, box, frame)
        for (a, ba), (b, bb) in itertools.combinations(outside, 2):
            assert not ba.overlaps(bb), (a, b, ba, bb)
        for name, box, ax in labels:
            assert _inside(box, ax.get_window_extent()), (name, box)
        for (a, ba, _x), (b, bb, _y) in itertools.combinations(labels, 2):
            assert not ba.overlaps(bb), (a, b)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_every_dead_zone_is_labelled_and_the_mark_is_there(sheets_of, case):
    made, zones = sheets_of
    fig = made[case][0]
    _page, _maps, outside, labels = blocks(fig)
    assert set(zones) <= {text for text, _b, _a in labels}
    assert any(text.startswith("SIMULASI / SIMULATED DATA") for text, _b in outside)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_the_map_fills_its_frame(sheets_of, case):
    """No empty bands: the frame is as tall as the space between the header and the panel or the
    page's margin, and the map's extent has the frame's shape (nothing shrinks it)."""
    made, _zones = sheets_of
    for fig in made[case]:
        page, maps, outside, _labels = blocks(fig)
        for ax in maps:
            shown = ax.get_position(original=False)
            given = ax.get_position(original=True)
            assert abs(shown.width - given.width) < 1e-6 and abs(shown.height - given.height) < 1e-6
            x0, x1 = ax.get_xlim()
            y0, y1 = ax.get_ylim()
            frame = ax.get_window_extent()
            assert abs((x1 - x0) / (y1 - y0) - frame.width / frame.height) < 0.01
        # The maps and the blocks together reach from the margin below to the header above.
        lowest = min(min(ax.get_window_extent().y0 for ax in maps), min(b.y0 for _n, b in outside))
        margin = print_map.figure_for(*case).margin_in * fig.dpi
        assert lowest <= margin + 2
        top_of_maps = max(ax.get_window_extent().y1 for ax in maps)
        header = min(b.y0 for n, b in outside if b.y0 > top_of_maps - 1)
        assert header - top_of_maps < 0.08 * page.height


def test_type_grows_with_the_paper(sheets_of):
    made, _zones = sheets_of

    def sizes(fig):
        from matplotlib.text import Text

        return [t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip()]

    a4 = statistics.median(sizes(made["A4", "landscape", None][0]))
    a3 = statistics.median(sizes(made["A3", "landscape", None][0]))
    assert a3 / a4 == pytest.approx(2 ** 0.5, rel=0.12)
