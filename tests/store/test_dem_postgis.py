"""The elevation model in the shared PostGIS store: a table of GeoTIFFs keyed by village code."""

from __future__ import annotations

import dataclasses
import zipfile

import numpy as np
import pytest

pytestmark = pytest.mark.postgis


def test_dem_round_trip_on_postgis(pg_url, tmp_path):
    from surveyor.config import Settings
    from surveyor.errors import OutputExists
    from surveyor.geo.areas import areas_frame
    from surveyor.ingest.dem import import_dem
    from surveyor.store import open_store
    from surveyor.store.dem import has_dem, load_dem, load_hillshade

    n = 1201
    for west in (109, 110):
        lat = -7 - np.arange(n)[:, None] / (n - 1)
        lon = west + np.arange(n)[None, :] / (n - 1)
        z = np.rint(800 + 300 * np.sin(lon * 3) * np.cos(lat * 2)).astype(">i2")
        with zipfile.ZipFile(tmp_path / f"S08E{west}.hgt.zip", "w") as zf:
            zf.writestr(f"S08E{west}.hgt", z.tobytes())
    settings = Settings()
    with open_store(pg_url, create=True) as store:
        store.write_layer("areas", areas_frame(settings))
        assert not has_dem(store, settings.code)
        info = import_dem(store, settings, [tmp_path / "S08E109.hgt.zip", tmp_path / "S08E110.hgt.zip"])
        assert info["written"] == [f"dem_rasters ({settings.code})", "contours"]
        dem = load_dem(store, settings.code, required=True)
        assert dem.crs == "EPSG:32749" and info["buffer_coverage"] == 1.0
        v = float(dem.sample_lonlat(109.858, -7.437))
        assert abs(v - (800 + 300 * np.sin(109.858 * 3) * np.cos(-7.437 * 2))) < 3
        shade, _, _ = load_hillshade(store, settings.code)
        assert shade.dtype == np.uint8 and shade.shape == dem.shape
        contours = store.read_layer("contours", area=settings.code)
        assert len(contours) and set(contours["area_code"]) == {settings.code}
        assert store.get_meta(f"dem:{settings.code}")["sources"][0].endswith("S08E109.hgt.zip")
        with pytest.raises(OutputExists):
            import_dem(store, settings, [tmp_path / "S08E109.hgt.zip"])
        # Another village's model would live beside it, under its own code.
        assert load_dem(store, "99.99") is None


def test_towers_added_by_hand_on_postgis(pg_url):
    from surveyor.analyse.terrain.towers import add_tower, load_towers
    from surveyor.config import Settings
    from surveyor.geo.areas import areas_frame
    from surveyor.store import open_store

    settings = Settings()
    with open_store(pg_url, create=True) as store:
        store.write_layer("areas", areas_frame(settings))
        add_tower(store, settings, operator="Telkomsel", lat=-7.42, lon=109.89, height_m=42, band="3")
        add_tower(store, settings, operator="Indosat", lat=-7.45, lon=109.80)
        other = dataclasses.replace(settings, code="33.07.05.2003")
        add_tower(store, other, operator="XL", lat=-7.40, lon=109.85)
        towers = load_towers(store, settings)
    assert list(towers["tower_id"]) == ["M1", "M2"]  # the other village's tower stays its own
    assert towers["height_m"].tolist() == [42.0, 30.0] and towers["height_source"].tolist() == ["given", "assumed 30 m"]
    assert towers["frequency_mhz"].tolist() == [1842.5, 1842.5]
