"""`surveyor dem import`: real DEMs of ../shared/data/dem, SRTM .hgt/.hgt.zip tiles made here, other
projections, voids, and bad input (another place, no CRS, not covering the area), each with a clear
message and nothing already stored lost."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import box

from surveyor.store import open_store

from .conftest import make_survey

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

# An area of about 2 x 2 km in the middle of pysheds-dem.tif (Fort Worth, Texas).
PYSHEDS_AREA = box(-97.345, 32.660, -97.325, 32.678)
# About 200 x 300 m inside the data of osmnx-elevation1.tif (San Francisco).
OSMNX_AREA = box(-122.4075, 37.7935, -122.4050, 37.7965)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dem_of(root: Path):
    from surveyor.store.dem import load_dem

    with open_store(str(root / "survey.gpkg")) as store:
        return load_dem(store, required=True), store.get_meta("dem"), store.read_layer("contours")


def _source_value(path, lon, lat) -> float:
    import rasterio

    with rasterio.open(path) as ds:
        return float(next(ds.sample([(lon, lat)]))[0])


@pytest.mark.realdata
def test_import_real_geotiff(shared_data, tmp_path, invoke):
    src = shared_data / "dem" / "pysheds-dem.tif"
    root = make_survey(tmp_path / "tx", PYSHEDS_AREA, name="Fort Worth", code="48.439")
    r = invoke("dem", "import", str(src), "--db", str(root / "survey.gpkg"), "--config", str(root / "survey.toml"))
    assert r.exit_code == 0, r.output
    assert "pixels of 8" in r.stdout and "EPSG:32614" in r.stdout  # about 80-90 m pixels in UTM 14N
    assert "Warning:" in r.stderr and "plus 15 km" in r.stderr  # the tile is smaller than the area plus 15 km
    dem, info, contours = _dem_of(root)
    assert dem.crs == "EPSG:32614" and info["area_coverage"] == 1.0
    assert (root / "survey.dem.tif").exists() and (root / "survey.hillshade.tif").exists()
    # The stored model gives the source's heights (bilinear between 3 arc-second pixels).
    rng = np.random.default_rng(1)
    lons, lats = rng.uniform(-97.40, -97.25, 20), rng.uniform(32.60, 32.75, 20)
    ours = dem.sample_lonlat(lons, lats)
    theirs = np.array([_source_value(src, a, b) for a, b in zip(lons, lats)])
    assert np.nanmax(np.abs(ours - theirs)) < 8 and np.nanmedian(np.abs(ours - theirs)) < 2
    assert 147 <= np.nanmin(dem.elevation_m) and np.nanmax(dem.elevation_m) <= 298
    # Contours every 25 m, index contours every 100 m, in EPSG:4326 around the area.
    assert len(contours) > 0 and contours.crs.to_epsg() == 4326
    levels = contours["elevation_m"].to_numpy()
    assert np.allclose(levels % 25, 0) and (contours["index"] == np.isclose(levels % 100, 0)).all()
    assert contours.total_bounds[0] > -97.4 and contours.total_bounds[2] < -97.27


@pytest.mark.realdata
def test_import_with_nodata_border(shared_data, tmp_path, invoke):
    src = shared_data / "dem" / "osmnx-elevation1.tif"
    root = make_survey(tmp_path / "sf", OSMNX_AREA, name="Nob Hill", code="06.075")
    r = invoke("dem", "import", str(src), "--db", str(root / "survey.gpkg"), "--config", str(root / "survey.toml"),
               "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["area_coverage"] == 1.0 and info["voids_filled_px"] == 0  # the border is not a hole
    assert info["buffer_coverage"] < 0.01 and info["warnings"]
    assert 0 <= info["area_elevation_min_m"] < info["area_elevation_max_m"] <= 98
    dem, _, _ = _dem_of(root)
    assert not np.isfinite(dem.elevation_m).all()  # beyond the tile stays without data


@pytest.mark.realdata
def test_import_other_projection_and_cog(shared_data, tmp_path, invoke):
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    src = shared_data / "dem" / "pysheds-dem.tif"
    merc = tmp_path / "pysheds-3857.tif"
    with rasterio.open(src) as ds:
        transform, w, h = calculate_default_transform(ds.crs, "EPSG:3857", ds.width, ds.height, *ds.bounds)
        profile = dict(ds.profile, crs="EPSG:3857", transform=transform, width=w, height=h)
        with rasterio.open(merc, "w", **profile) as out:
            reproject(rasterio.band(ds, 1), rasterio.band(out, 1), resampling=Resampling.bilinear)
        cog = tmp_path / "pysheds-cog.tif"
        with rasterio.open(cog, "w", **dict(ds.profile, driver="COG")) as out:
            out.write(ds.read(1), 1)
    direct = make_survey(tmp_path / "direct", PYSHEDS_AREA, name="A", code="48.1")
    assert invoke("dem", "import", str(src), "--db", str(direct / "survey.gpkg"),
                  "--config", str(direct / "survey.toml")).exit_code == 0
    for name, path in (("merc", merc), ("cog", cog)):
        root = make_survey(tmp_path / name, PYSHEDS_AREA, name="A", code="48.1")
        r = invoke("dem", "import", str(path), "--db", str(root / "survey.gpkg"), "--config", str(root / "survey.toml"),
                   "--resolution", "90")
        assert r.exit_code == 0, r.output
        dem, _, _ = _dem_of(root)
        assert dem.crs == "EPSG:32614"  # the area's UTM zone, whatever the file's projection
        ref, _, _ = _dem_of(direct)
        lons, lats = np.linspace(-97.36, -97.30, 15), np.linspace(32.64, 32.70, 15)
        diff = np.abs(dem.sample_lonlat(lons, lats) - ref.sample_lonlat(lons, lats))
        assert np.nanmedian(diff) < (3 if name == "merc" else 0.5), name


@pytest.mark.realdata
def test_import_fills_voids_inside_the_model(shared_data, tmp_path, invoke):
    import rasterio

    src = shared_data / "dem" / "pysheds-dem.tif"
    holey = tmp_path / "holes.tif"
    with rasterio.open(src) as ds:
        a = ds.read(1)
        profile = ds.profile
        row, col = ds.index(-97.335, 32.669)  # the middle of the area
    before = a[row - 3:row + 4, col - 3:col + 4].copy()
    a[row - 3:row + 4, col - 3:col + 4] = -32768
    a[20:26, 40:50] = -32768
    with rasterio.open(holey, "w", **profile) as out:
        out.write(a, 1)
    root = make_survey(tmp_path / "holes", PYSHEDS_AREA, name="A", code="48.1")
    r = invoke("dem", "import", str(holey), "--db", str(root / "survey.gpkg"), "--config", str(root / "survey.toml"),
               "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["voids_filled_px"] > 0 and info["area_coverage"] == 1.0
    dem, _, _ = _dem_of(root)
    filled = float(dem.sample_lonlat(-97.335, 32.669))
    assert before.min() - 5 <= filled <= before.max() + 5  # interpolated from around the hole


@pytest.mark.realdata
def test_dem_that_does_not_cover_the_area(shared_data, tmp_path, invoke):
    src = shared_data / "dem" / "pysheds-dem.tif"
    half_out = box(-97.50, 32.70, -97.46, 32.72)  # straddles the tile's western edge (-97.485)
    root = make_survey(tmp_path / "edge", half_out, name="Edge", code="48.2")
    r = invoke("dem", "import", str(src), "--db", str(root / "survey.gpkg"), "--config", str(root / "survey.toml"))
    assert r.exit_code == 1
    assert "covers only" in r.stderr and "of Edge" in r.stderr and "N32W098" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (root / "survey.dem.tif").exists()


@pytest.mark.realdata
def test_bad_input_keeps_what_is_stored(shared_data, tmp_path, invoke):
    """A DEM of another place, one without a CRS, a file that is no raster: messages, nothing lost."""
    import rasterio

    root = make_survey(tmp_path / "tx", PYSHEDS_AREA, name="Fort Worth", code="48.439")
    db = str(root / "survey.gpkg")
    cfg = ("--config", str(root / "survey.toml"))
    assert invoke("dem", "import", str(shared_data / "dem" / "pysheds-dem.tif"), "--db", db, *cfg).exit_code == 0
    stored = {p: _digest(p) for p in (root / "survey.dem.tif", root / "survey.hillshade.tif")}
    _, info_before, contours_before = _dem_of(root)

    r = invoke("dem", "import", str(shared_data / "dem" / "osmnx-elevation1.tif"), "--db", db, *cfg, "--overwrite")
    assert r.exit_code == 1
    assert "of another place" in r.stderr and "San" not in r.stderr
    assert "37.790N-37.800N" in r.stderr and "Fort Worth lies at" in r.stderr and "N32W098" in r.stderr

    with rasterio.open(shared_data / "dem" / "pysheds-dem.tif") as ds:
        a = ds.read(1)
        profile = {k: v for k, v in ds.profile.items() if k not in ("crs", "transform")}
    nocrs = tmp_path / "nocrs.tif"
    from affine import Affine

    with rasterio.open(nocrs, "w", **profile, transform=Affine(0.0008333333333333, 0, -97.485, 0,
                                                                 -0.0008333333333333, 32.82166666666536)) as out:
        out.write(a, 1)
    r = invoke("dem", "import", str(nocrs), "--db", db, *cfg, "--overwrite")
    assert r.exit_code == 1 and "nocrs.tif: has no coordinate reference system" in r.stderr and "--crs" in r.stderr

    junk = tmp_path / "notes.tif"
    junk.write_text("not a raster\n")
    r = invoke("dem", "import", str(junk), "--db", db, *cfg, "--overwrite")
    assert r.exit_code == 1 and "notes.tif: is not an elevation raster" in r.stderr

    r = invoke("dem", "import", str(tmp_path / "missing.hgt"), "--db", db, *cfg, "--overwrite")
    assert r.exit_code == 1 and "missing.hgt: no such file" in r.stderr

    for p, digest in stored.items():
        assert _digest(p) == digest
    _, info_after, contours_after = _dem_of(root)
    assert info_after == info_before and len(contours_after) == len(contours_before)
    assert not list(root.glob(".*part*"))  # no half-written file left behind

    # Given its CRS, the same file imports (replacing the model only because --overwrite says so).
    r = invoke("dem", "import", str(nocrs), "--db", db, *cfg, "--crs", "EPSG:4326")
    assert r.exit_code == 1 and "imported already" in r.stderr and "--overwrite" in r.stderr
    r = invoke("dem", "import", str(nocrs), "--db", db, *cfg, "--crs", "EPSG:4326", "--overwrite")
    assert r.exit_code == 0, r.output


def _write_hgt(path: Path, south: int, west: int, member: str | None = None) -> None:
    """A 3 arc-second SRTM tile (1201 x 1201, big-endian int16) of a smooth known surface."""
    n = 1201
    lat = south + 1 - np.arange(n)[:, None] / (n - 1)
    lon = west + np.arange(n)[None, :] / (n - 1)
    z = np.rint(_surface(lon, lat)).astype(">i2")
    if member is None:
        z.tofile(path)
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(member, z.tobytes())


def _surface(lon, lat):
    return 800.0 + 400.0 * np.sin(np.radians(lon) * 90.0) * np.cos(np.radians(lat) * 70.0)


def test_srtm_tiles_mosaicked_for_lipursari(tmp_path, invoke):
    """SRTM .hgt and .hgt.zip (made here); Lipursari plus 15 km reaches across 110 E, so two tiles."""
    from surveyor.app.project import init_project

    init_project(tmp_path / "lip")
    root = tmp_path / "lip"
    west, east = tmp_path / "S08E109.hgt", tmp_path / "S08E110.hgt.zip"
    _write_hgt(west, -8, 109)
    _write_hgt(east, -8, 110, member="S08E110.hgt")
    db = str(root / "survey.gpkg")
    r = invoke("dem", "import", str(west), "--db", db, "--config", str(root / "survey.toml"))
    assert r.exit_code == 0, r.output
    assert "add SRTM S08E110" in r.stderr  # the eastern 15 km are missing, and the message names the tile
    r = invoke("dem", "import", str(west), str(east), "--db", db, "--config", str(root / "survey.toml"),
               "--overwrite", "--json")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["buffer_coverage"] == 1.0 and info["crs"] == "EPSG:32749" and not info["warnings"]
    assert len(info["sources"]) == 2
    dem, _, _ = _dem_of(root)
    # Across the seam at 110 E the model follows the surface both tiles were made of.
    lons = np.array([109.995, 109.999, 110.001, 110.005])
    lats = np.full(4, -7.40)
    assert np.abs(dem.sample_lonlat(lons, lats) - _surface(lons, lats)).max() < 4
    # Bounds: the village plus 15 km (Lipursari is about 3 km across).
    w, s, e, n = info["bounds_lonlat"]
    assert 109.69 < w < 109.72 and 110.00 < e < 110.03 and -7.60 < s < -7.57 and -7.30 < n < -7.28


def test_hillshade_is_horn_with_the_sun_in_the_north_west(tmp_path):
    from surveyor.geo.dem import Dem, hillshade

    x = np.arange(50) * 30.0
    flat = Dem(np.full((40, 50), 500, np.float32), (30, 0, 0, 0, -30, 9_000_000), "EPSG:32749")
    east_up = Dem((500 + 0.2 * x[None, :] + np.zeros((40, 1))).astype(np.float32), flat.transform, flat.crs)
    west_up = Dem((500 - 0.2 * x[None, :] + np.zeros((40, 1))).astype(np.float32), flat.transform, flat.crs)
    assert hillshade(flat)[20, 25] == 180  # 255 cos 45 deg
    # A slope facing west (rising east) is lit by a north-west sun, one facing east is darker.
    assert hillshade(east_up)[20, 25] > 180 > hillshade(west_up)[20, 25]
    holes = flat.elevation_m.copy()
    holes[10, 10] = np.nan
    assert hillshade(Dem(holes, flat.transform, flat.crs))[10, 10] == 0


def test_no_dem_file_given_and_unknown_crs(tmp_path, invoke):
    from surveyor.app.project import init_project

    init_project(tmp_path / "lip")
    db = str(tmp_path / "lip" / "survey.gpkg")
    r = invoke("dem", "import", "--db", db)
    assert r.exit_code == 2
    west = tmp_path / "S08E109.hgt"
    _write_hgt(west, -8, 109)
    r = invoke("dem", "import", str(west), "--db", db, "--crs", "EPSG:99999999")
    assert r.exit_code == 2 and "--crs" in r.stderr


@pytest.mark.realdata
def test_profile_over_a_real_dem(shared_data, tmp_path, invoke):
    """A household's path profile over real terrain (pysheds-dem.tif): the profile follows the source
    heights, and the advice is computed from it."""
    from surveyor.analyse.terrain.paths import profile_arrays

    src = shared_data / "dem" / "pysheds-dem.tif"
    root = make_survey(tmp_path / "tx", PYSHEDS_AREA, name="Fort Worth", code="48.439")
    args = ("--db", str(root / "survey.gpkg"), "--config", str(root / "survey.toml"))
    assert invoke("dem", "import", str(src), *args).exit_code == 0
    r = invoke("towers", "add", "--operator", "Telkomsel", "--lat", "32.70", "--lon", "-97.28", "--height", "40",
               *args)
    assert r.exit_code == 0, r.output
    r = invoke("antenna", "--at", "32.669,-97.335", "--height", "6", "--out", str(tmp_path / "png"), "--json", *args)
    assert r.exit_code == 0, r.output
    advice = json.loads(r.stdout)
    tsel = next(a for a in advice["advice"] if a["operator"] == "Telkomsel")
    assert 5_500 < tsel["distance_m"] < 6_500 and tsel["direction"] == "north-east"
    assert np.isfinite(tsel["mast_needed_m"]) and tsel["calibration"] == "uncalibrated"
    assert len(advice["png"]) == 1 and Path(advice["png"][0]).stat().st_size > 10_000
    dem, _, _ = _dem_of(root)
    tx, rx = dem.xy(-97.28, 32.70), dem.xy(-97.335, 32.669)
    prof = profile_arrays(dem, tx, rx, 1842.5, 40.0, 6.0)
    lon, lat = dem.lonlat(tx[0] + (rx[0] - tx[0]) * prof["distance_m"] / prof["distance_m"][-1],
                          tx[1] + (rx[1] - tx[1]) * prof["distance_m"] / prof["distance_m"][-1])
    step = max(1, len(lon) // 25)
    theirs = np.array([_source_value(src, a, b) for a, b in zip(lon[::step], lat[::step])])
    assert np.median(np.abs(prof["ground_m"][::step] - theirs)) < 3


def test_hillshade_overlay_for_web_maps(tmp_path):
    """The hillshade as a PNG in Web Mercator with its lat/lon corners (for a Leaflet image overlay)."""
    import io

    from PIL import Image

    from surveyor.app.project import init_project
    from surveyor.config import load_settings
    from surveyor.ingest.dem import import_dem
    from surveyor.outputs.terrain import hillshade_overlay

    init_project(tmp_path / "lip")
    root = tmp_path / "lip"
    _write_hgt(tmp_path / "S08E109.hgt", -8, 109)
    _write_hgt(tmp_path / "S08E110.hgt", -8, 110)
    with open_store(str(root / "survey.gpkg")) as store:
        assert hillshade_overlay(store) is None  # nothing imported yet
        info = import_dem(store, load_settings(root / "survey.toml"),
                          [tmp_path / "S08E109.hgt", tmp_path / "S08E110.hgt"])
        png, bounds = hillshade_overlay(store, max_px=200)
        png4326, bounds4326 = hillshade_overlay(store, crs="EPSG:4326")
    with Image.open(io.BytesIO(png)) as im:
        assert im.mode == "RGBA" and max(im.size) == 200
        alpha = np.asarray(im)[..., 3]
    assert alpha.max() > 0 and alpha.min() == 0  # warped corners are transparent
    (s, w), (n, e) = bounds
    ws, ss, es, ns = info["bounds_lonlat"]
    assert abs(w - ws) < 0.01 and abs(e - es) < 0.01 and abs(s - ss) < 0.01 and abs(n - ns) < 0.01
    assert abs(bounds4326[0][1] - w) < 0.01 and len(png4326) > 1000
