"""Build a GeoPackage's spatial index (an SQLite R-tree) in one pass, Sort-Tile-Recursive packed.

Inserting a million points into an SQLite R-tree one row at a time (what GDAL's triggers do when a
layer is appended to) costs about ten times more than writing the points. For a merge that adds
many rows, :func:`rebuild` instead writes the R-tree's shadow tables directly: points are sorted
into full leaves by the STR method (Leutenegger et al. 1997), leaves into parents, up to one root.

The node layout follows SQLite's rtree module (ext/rtree/rtree.c): node 1 is the root; each node is
a blob of the table's fixed node size: a 2-byte big-endian depth (meaningful in the root), a 2-byte
big-endian cell count, then cells of an 8-byte big-endian rowid (or child node number) and four
big-endian float32 coordinates (minx, maxx, miny, maxy), rounded outwards as the rtree module
rounds them. ``%_rowid`` maps each entry to its leaf, ``%_parent`` each node to its parent.
``SELECT rtreecheck(...)`` verifies the result (the tests do).
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

import numpy as np

CELL = np.dtype([("id", ">i8"), ("x0", ">f4"), ("x1", ">f4"), ("y0", ">f4"), ("y1", ">f4")])


def _down(v: np.ndarray) -> np.ndarray:
    f = v.astype(np.float32)
    return np.where(f.astype(np.float64) > v, np.nextafter(f, np.float32(-np.inf)), f)


def _up(v: np.ndarray) -> np.ndarray:
    f = v.astype(np.float32)
    return np.where(f.astype(np.float64) < v, np.nextafter(f, np.float32(np.inf)), f)


def _str_groups(cx: np.ndarray, cy: np.ndarray, capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, group): STR order of the entries and the node each entry (in that order) goes to."""
    n = len(cx)
    leaves = math.ceil(n / capacity)
    slices = math.ceil(math.sqrt(leaves))
    per_slice = slices * capacity
    by_x = np.argsort(cx, kind="stable")
    slice_of = np.arange(n) // per_slice
    # Within each vertical slice, sort by y: lexsort on (y, slice).
    order = by_x[np.lexsort((cy[by_x], slice_of))]
    # Nodes are filled within a slice only, so a slice's last node may be partly full.
    rank_in_slice = np.arange(n) - slice_of * per_slice
    group = slice_of * slices + rank_in_slice // capacity
    _, group = np.unique(group, return_inverse=True)
    return order, group


@dataclass
class Image:
    """The shadow-table rows of a packed R-tree, ready to insert."""

    node_size: int
    nodes: list[tuple[int, bytes]]
    parents: list[tuple[int, int]]
    leaf_ids: np.ndarray  # entry ids, ascending
    leaf_nodes: np.ndarray  # the leaf node of each entry
    # When the ids are dense (the usual case: fids of a bulk load), the leaf node of every id from
    # leaf_ids[0] on as one JSON array, 0 where an id has no entry; made while planning, so it is
    # ready before the write starts.
    rowid_json: str | None = None


def node_size(con: sqlite3.Connection, rtree: str) -> int:
    """The node size of an existing R-tree (it follows the database's page size)."""
    row = con.execute(f'SELECT length(data) FROM "{rtree}_node" WHERE nodeno = 1').fetchone()
    return int(row[0]) if row else 1228


def rebuild(con: sqlite3.Connection, rtree: str, ids: np.ndarray, x: np.ndarray, y: np.ndarray) -> int:
    """Replace the whole R-tree ``rtree`` with points (ids, x, y); returns the number of nodes.

    The caller holds a write transaction and makes sure nothing else writes the table meanwhile.
    """
    return write(con, rtree, plan(ids, x, y, node_size(con, rtree)))


def plan(ids: np.ndarray, x: np.ndarray, y: np.ndarray, node_size: int) -> Image:
    """Pack points (ids, x, y) into R-tree nodes. Pure numpy, no database: it can run in a thread
    while the database builds other indexes."""
    capacity = (node_size - 4) // CELL.itemsize
    ids = np.asarray(ids, dtype=np.int64)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(ids) == 0:
        return Image(node_size, [(1, bytes(node_size))], [], ids, ids)
    # Level 0: the points themselves.
    level_ids, x0, x1, y0, y1 = ids, _down(x), _up(x), _down(y), _up(y)
    levels = []  # per level: (cells in node order, node index of each cell)
    while True:
        cx = (x0.astype(np.float64) + x1) / 2
        cy = (y0.astype(np.float64) + y1) / 2
        order, group = _str_groups(cx, cy, capacity)
        cells = np.empty(len(order), dtype=CELL)
        cells["id"], cells["x0"], cells["x1"] = level_ids[order], x0[order], x1[order]
        cells["y0"], cells["y1"] = y0[order], y1[order]
        levels.append((cells, group))
        n_nodes = int(group[-1]) + 1
        if n_nodes == 1:
            break
        # Bounding boxes of this level's nodes become the cells of the level above.
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        x0 = np.minimum.reduceat(cells["x0"].astype(np.float32), starts)
        x1 = np.maximum.reduceat(cells["x1"].astype(np.float32), starts)
        y0 = np.minimum.reduceat(cells["y0"].astype(np.float32), starts)
        y1 = np.maximum.reduceat(cells["y1"].astype(np.float32), starts)
        level_ids = np.arange(n_nodes, dtype=np.int64)  # placeholders: node numbers come below
    # Number the nodes: root is 1, then level by level downwards.
    depth = len(levels) - 1
    next_no = 2
    numbers: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(levels)
    numbers[depth] = np.array([1], dtype=np.int64)
    for lv in range(depth - 1, -1, -1):
        count = int(levels[lv][1][-1]) + 1
        numbers[lv] = np.arange(next_no, next_no + count, dtype=np.int64)
        next_no += count
    node_rows = []
    parent_rows: list[tuple[int, int]] = []  # (node, its parent)
    for lv in range(depth, -1, -1):
        cells, group = levels[lv]
        if lv > 0:
            # Children are the nodes of the level below, by their index there.
            child_index = cells["id"].astype(np.int64)
            cells = cells.copy()
            cells["id"] = numbers[lv - 1][child_index]
            parents = numbers[lv][group]
            parent_rows.extend(zip(cells["id"].tolist(), parents.tolist()))
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        ends = np.r_[starts[1:], len(group)]
        raw = cells.tobytes()
        for k, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
            header = (depth if lv == depth else 0).to_bytes(2, "big") + (b - a).to_bytes(2, "big")
            body = raw[a * CELL.itemsize:b * CELL.itemsize]
            node_rows.append((int(numbers[lv][k]), header + body + bytes(node_size - 4 - len(body))))
        if lv == 0:
            leaf_ids, leaf_nodes = cells["id"].astype(np.int64), numbers[0][group]
    # %_rowid is keyed by the entry id: inserting in id order appends to its B-tree instead of
    # splitting pages all over it (several times faster for a million rows).
    by_id = np.argsort(leaf_ids, kind="stable")
    leaf_ids, leaf_nodes = leaf_ids[by_id], leaf_nodes[by_id]
    rowid_json = None
    if leaf_ids[-1] - leaf_ids[0] < 2 * len(leaf_ids):
        dense = np.zeros(int(leaf_ids[-1] - leaf_ids[0]) + 1, dtype=np.int64)
        dense[leaf_ids - leaf_ids[0]] = leaf_nodes
        rowid_json = "[" + ",".join(map(str, dense.tolist())) + "]"
    return Image(node_size, node_rows, parent_rows, leaf_ids, leaf_nodes, rowid_json)


def write(con: sqlite3.Connection, rtree: str, image: Image) -> int:
    """Replace the shadow tables of ``rtree`` with a planned image; returns the number of nodes."""
    con.execute(f'DELETE FROM "{rtree}_node"')
    con.execute(f'DELETE FROM "{rtree}_rowid"')
    con.execute(f'DELETE FROM "{rtree}_parent"')
    con.executemany(f'INSERT INTO "{rtree}_node" VALUES (?, ?)', image.nodes)
    con.executemany(f'INSERT INTO "{rtree}_parent" VALUES (?, ?)', image.parents)
    ids, nodes = image.leaf_ids, image.leaf_nodes
    if image.rowid_json is not None:
        # Dense ids: one JSON array of node numbers, expanded by SQLite itself. About twice as fast
        # as a million bound inserts.
        con.execute(f'INSERT INTO "{rtree}_rowid" SELECT key + ?, value FROM json_each(?) WHERE value > 0',
                    (int(ids[0]), image.rowid_json))
        return len(image.nodes)
    # In slices, so a large table does not become millions of Python objects at once.
    step = 100_000
    for a in range(0, len(ids), step):
        con.executemany(f'INSERT INTO "{rtree}_rowid" VALUES (?, ?)',
                        zip(ids[a:a + step].tolist(), nodes[a:a + step].tolist()))
    return len(image.nodes)
