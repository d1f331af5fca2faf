"""The analysis inside PostGIS gives the cells, dead zones, sites and summary of the GeoPackage path
on the same samples: the simulated village, pushed to a real PostGIS server."""

from __future__ import annotations

import pytest

from district.helpers import assert_same_analysis, assert_same_table
from surveyor.analyse import analyze
from surveyor.config import load_settings
from surveyor.store import open_store
from surveyor.store.sync import push

pytestmark = pytest.mark.postgis


@pytest.fixture(scope="module")
def pushed(village, pg_cluster, tmp_path_factory):
    """The simulated village pushed to a new PostGIS database and analysed there."""
    url = pg_cluster.url(pg_cluster.new_db())
    push(str(village.db), url)
    settings = load_settings(village.folder / "survey.toml")
    with open_store(url) as pg:
        summary = analyze(pg, settings)
    return url, settings, summary


def test_village_analysed_in_postgis_equals_the_geopackage_analysis(village, pushed):
    url, settings, summary = pushed
    with open_store(url) as pg, open_store(str(village.db)) as gpkg:
        assert_same_analysis(gpkg, pg)
        cells = pg.read_layer("cells")
    # the village has every class for both operators, and the database counted them (not an empty
    # table compared with an empty table)
    for op in settings.operators:
        statuses = set(cells.loc[cells["operator"] == op, "status"])
        assert {"dead", "covered", "marginal", "insufficient", "not_surveyed"} <= statuses, (op, statuses)
    assert summary.effective_samples > 1000 and summary.speed_tests > 10
    assert sum(s.dead_zones for s in summary.operators.values()) >= 2


def test_coarser_resolution_in_postgis_equals_the_geopackage(village, pg_url, tmp_path):
    from fixtures import copy_survey

    url = pg_url
    push(str(village.db), url)
    settings = load_settings(village.folder / "survey.toml")
    local = copy_survey(village, tmp_path / "copy")
    with open_store(url) as pg, open_store(str(local.db)) as gpkg:
        # The same history on both (the village was analysed at resolution 10 before): zone IDs
        # last from one analysis to the next, so they depend on the analysis before.
        analyze(pg, settings)
        analyze(pg, settings, resolution=9)
        analyze(gpkg, settings, resolution=9)
        assert_same_analysis(gpkg, pg)
        assert set(pg.read_layer("cells")["resolution"]) == {9}


def test_speed_test_rows_and_zone_evidence_are_counted_over_the_zone(village, pushed):
    url, _, _ = pushed
    with open_store(url) as pg, open_store(str(village.db)) as gpkg:
        zones_pg, zones_gpkg = pg.read_layer("dead_zones"), gpkg.read_layer("dead_zones")
    # a zone of several cells: its distinct counts come from its own samples, not a sum of the cells
    big = zones_gpkg[zones_gpkg["cells"] > 1]
    assert len(big), "the village has a dead zone of several cells"
    assert_same_table(big, zones_pg[zones_pg["zone_id"].isin(big["zone_id"])], ["zone_id"], "large zones")
