"""The packed spatial index is a valid SQLite R-tree that answers queries like a scan does."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from surveyor.store.rtree import rebuild


# Ids one apart (a bulk load's fids), with gaps (unplaced samples in between) and sparse: the
# shadow tables are written by the dense and the row-by-row paths.
@pytest.mark.parametrize("step", [1, 3])
@pytest.mark.parametrize("n", [0, 1, 51, 52, 2_601, 20_000])
def test_packed_rtree_is_valid_and_complete(n, step):
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.execute("CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx, miny, maxy)")
    rng = np.random.default_rng(n)
    x = 109.84 + rng.random(n) * 0.03
    y = -7.45 + rng.random(n) * 0.03
    ids = 1000 + np.arange(1, n + 1) * step
    if step == 1:
        ids = ids[rng.random(n) > 0.2]  # gaps
        x, y = x[:len(ids)], y[:len(ids)]
        n = len(ids)
    con.execute("BEGIN")
    rebuild(con, "r", ids, x, y)
    con.execute("COMMIT")
    assert con.execute("SELECT rtreecheck('r')").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM r").fetchone()[0] == n
    # A window query finds exactly the points a scan finds (float32 boxes are rounded outwards).
    x0, x1, y0, y1 = 109.85, 109.86, -7.44, -7.43
    found = {r[0] for r in con.execute("SELECT id FROM r WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?",
                                       (x0, x1, y0, y1))}
    inside = set(ids[(x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)].tolist())
    assert inside <= found
    assert len(found - inside) <= 2  # only points within float32 rounding of the window's edge
    # The tree stays usable by SQLite's own insert and delete afterwards.
    con.execute("INSERT INTO r VALUES (1, 109.855, 109.855, -7.435, -7.435)")
    con.execute("DELETE FROM r WHERE id % 2 = 0")
    assert con.execute("SELECT rtreecheck('r')").fetchone()[0] == "ok"
