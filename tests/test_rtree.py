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


def _index_matches_samples(db: str) -> None:
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT rtreecheck('rtree_samples_geom')").fetchone()[0] == "ok"
        placed = con.execute("SELECT fid, lon, lat FROM samples WHERE geom IS NOT NULL").fetchall()
        entries = con.execute("SELECT id, minx, maxx, miny, maxy FROM rtree_samples_geom").fetchall()
        assert len(entries) == len(placed) > 0
        box = {e[0]: e[1:] for e in entries}
        for fid, lon, lat in placed:  # every sample is inside its box (float32, rounded outwards)
            x0, x1, y0, y1 = box[fid]
            assert x0 <= lon <= x1 and y0 <= lat <= y1
        assert con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                           "AND name LIKE 'rtree_samples_geom_%'").fetchone()[0] >= 6
    finally:
        con.close()


@pytest.mark.parametrize("cap", [10**9, 1_000])
def test_bulk_import_indexes_every_sample_packed_or_by_sqlite(tmp_path, monkeypatch, cap):
    """Under the cap the index is packed from memory; over it SQLite fills it in flat memory."""
    from surveyor.ingest.merge import merge_sources
    from surveyor.store import gpkg, open_store

    from helpers import walk_rows, write_gnettrack

    monkeypatch.setattr(gpkg, "PACK_MAX_ROWS", cap)
    if cap < 60_000:
        def no_packing(*args, **kwargs):
            raise AssertionError("packed in memory above the cap")
        monkeypatch.setattr(gpkg.rtree, "plan", no_packing)
    src = write_gnettrack(tmp_path / "walk.csv", walk_rows(60_000))
    db = str(tmp_path / "s.gpkg")
    with open_store(db, create=True) as store:
        assert merge_sources(store, [str(src)]).added == 60_000
    _index_matches_samples(db)
    # A merge that died in bulk mode leaves the triggers missing: the next writer rebuilds the index.
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER rtree_samples_geom_insert")
    con.execute("DELETE FROM rtree_samples_geom WHERE id % 7 = 0")
    con.commit()
    con.close()
    with open_store(db) as store:
        with store.writer_lock():
            store.cleanup_unfinished()
    _index_matches_samples(db)
