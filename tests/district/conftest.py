"""Fixtures of the district tests: the throwaway PostGIS cluster of tests/store, and samples loaded
into both kinds of store the way a merge loads them."""

from __future__ import annotations

import pytest
from store import conftest as store_fixtures

# The real PostGIS cluster fixtures of tests/store, by assignment (a fixture below takes pg_url).
pg_cluster = store_fixtures.pg_cluster
pg_url = store_fixtures.pg_url


def load_frames(store, frames, areas=None) -> None:
    """Samples (frames with the sample fields, ``sample_id`` and ``h3_10``) into ``store``, one merge
    per frame, through the store's own merge path (append, commit_merge)."""
    from surveyor.store._arrow import sample_table
    from surveyor.store.base import MergeRecord

    if areas is not None:
        store.write_layer("areas", areas)
    for i, df in enumerate(frames):
        with store.writer_lock():
            mid = store.new_merge_id()
            store.append("samples", sample_table(df.assign(merge_id=mid)))
            store.commit_merge(MergeRecord(mid, str(df["source_file"].iloc[0]), f"hash-{i}-{mid}", "journal",
                                           "2026-08-01T00:00:00Z", {"read": len(df), "added": len(df)}, {}))


@pytest.fixture
def both_stores(tmp_path, pg_url):
    """A new GeoPackage and a new PostGIS database, open, for the same samples."""
    from surveyor.store import open_store

    gpkg = open_store(str(tmp_path / "survey.gpkg"), create=True)
    pg = open_store(pg_url, create=True)
    yield gpkg, pg
    gpkg.close()
    pg.close()
