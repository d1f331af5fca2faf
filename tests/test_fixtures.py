"""What the survey fixtures (tests/fixtures) promise the map, print, report and export tests.

The fixtures run the real merge and analysis on a simulated survey, so what they hold depends on
the simulator and the rules. When a change there breaks a promise, these tests say which, instead
of a colour count in a screenshot failing somewhere else.
"""

from __future__ import annotations

from surveyor.analyse.cells import STATUSES
from surveyor.store import open_store

from fixtures import EVIL, HOSTILE_NOTE, HOSTILE_VOLUNTEER


def test_village_has_every_class_dead_zones_and_sites_for_both_operators(village):
    with open_store(str(village.db)) as store:
        summary = store.get_meta("analysis_summary")
        towers = store.read_layer("towers")
        cells = store.read_layer("cells")
        formats = set(store.read_samples(["source_format"])["source_format"])
    assert village.operators == ("Telkomsel", "Indosat")
    for op in village.operators:
        s = summary["operators"][op]
        assert all(s["cells"][st] > 0 for st in STATUSES), (op, s["cells"])
        assert s["dead_zones"] >= 1 and s["sites"] >= 1, (op, s)
    assert "DZ-TSEL-01" in summary["operators"]["Telkomsel"]["zone_ids"]
    assert set(towers["operator"]) == {"Telkomsel", "Indosat"}
    assert cells["dusun"].notna().any()
    assert cells["weak_signal"].astype(bool).any()  # rows of the blank-spot sheet's "sinyal lemah"
    assert formats == {"journal", "gnettrack"}


def test_village_carries_personal_data_and_hostile_text(village):
    with open_store(str(village.db)) as store:
        samples = store.read_samples(["volunteer", "device", "note", "lat"])
    assert set(village.volunteers) == set(samples["volunteer"].dropna())
    assert set(village.devices) <= set(samples["device"].dropna())
    assert HOSTILE_NOTE in set(samples["note"].dropna()) and HOSTILE_VOLUNTEER in village.volunteers
    assert samples["lat"].isna().any()  # samples from before a GPS fix: kept, without a position
    assert len(samples) >= 1000


def test_hostile_village_names_its_second_operator_and_a_dusun_with_html(hostile_village):
    with open_store(str(hostile_village.db)) as store:
        cells = store.read_layer("cells")
        notes = store.read_samples(["note"])["note"]
    assert hostile_village.operators == ("Telkomsel", EVIL)
    assert set(cells["operator"]) == {"Telkomsel", EVIL}
    assert EVIL in set(cells["dusun"]) and (notes == EVIL).any()


def test_merged_only_has_samples_and_no_analysis(merged_only):
    with open_store(str(merged_only.db)) as store:
        assert store.status().samples > 0
        assert store.get_meta("analysed_at") is None
        assert len(store.read_layer("cells")) == 0


def test_mapped_village_has_its_ground_relief_and_terrain(mapped_village):
    """fixtures.MAPPED: the map and report tests need roads, houses, names, facilities and water, an
    elevation model, a terrain verdict for every dead zone and a prediction for unwalked cells."""
    from surveyor.store.dem import has_dem

    with open_store(str(mapped_village.db)) as store:
        counts = store.get_meta("basemap")["counts"]
        zones = store.read_layer("dead_zones")
        cells = store.read_layer("cells")
        assert has_dem(store)
    assert all(counts[k] > 0 for k in ("roads", "buildings", "water", "places", "facilities")), counts
    assert zones["terrain_verdict"].notna().all() and (zones["terrain_verdict"] == "terrain").any()
    shown = cells[cells["prediction_shown"].astype(bool)]
    assert len(shown) and set(shown["status"]) <= {"insufficient", "not_surveyed"}
