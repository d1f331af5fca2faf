"""``status(area=...)`` means the same on both stores: what the database holds of one area."""

from __future__ import annotations

import pytest

from surveyor.config import load_settings
from surveyor.store import open_store
from surveyor.store.sync import push

pytestmark = pytest.mark.postgis


def test_the_status_of_an_area_is_the_same_on_both_stores(village, pg_url):
    push(str(village.db), pg_url)
    code = load_settings(village.folder / "survey.toml").code
    with open_store(str(village.db)) as gpkg, open_store(pg_url) as pg:
        a, b = gpkg.status(area=code), pg.status(area=code)
        whole = gpkg.status()
    for field in ("samples", "sessions", "devices", "days", "by_operator", "by_kind", "unplaced", "merges"):
        assert getattr(a, field) == getattr(b, field), field
    assert a.area == b.area == code
    # Samples without a position lie in no area: the area holds the placed ones.
    assert a.samples == whole.samples - whole.unplaced and a.unplaced == 0
    assert a.first[:19] == b.first[:19] and a.last[:19] == b.last[:19]
