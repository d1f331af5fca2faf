"""The physics of terrain analysis on terrains where the answer is known by hand: knife-edge loss
(ITU-R P.526), Fresnel radius, earth curvature, Deygout, the mast height that clears a path,
Okumura-Hata, EARFCN frequencies; and the vectorised paths equal one-at-a-time ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surveyor.analyse.terrain.pathloss import free_space_db, hata_db
from surveyor.analyse.terrain.paths import EFFECTIVE_RADIUS_M, knife_edge_db, trace_paths
from surveyor.analyse.terrain.radio import band_to_mhz, earfcn_to_mhz, nrarfcn_to_mhz, parse_band, wavelength_m
from surveyor.geo.dem import Dem


def flat(height=100.0, rows=100, cols=1200, pixel=10.0, wall=None) -> Dem:
    """A flat DEM 12 km wide (10 m pixels), optionally with a wall (col range, height above)."""
    z = np.full((rows, cols), height, np.float32)
    if wall is not None:
        c0, c1, h = wall
        z[:, c0:c1] = height + h
    return Dem(z, (pixel, 0, 0, 0, -pixel, rows * pixel), "EPSG:32749")


def test_knife_edge_values_of_p526():
    # P.526 eq. 31 at its landmarks: 0 dB below nu = -0.78, 6 dB at grazing, ~13.9 dB at nu = 1.
    j = knife_edge_db([-2.0, -0.78, 0.0, 1.0, 3.0])
    assert j[0] == 0 and j[1] == 0
    assert j[2] == pytest.approx(6.03, abs=0.05)
    assert j[3] == pytest.approx(13.93, abs=0.05)
    assert j[4] == pytest.approx(6.9 + 20 * math.log10(math.sqrt(2.9 ** 2 + 1) + 2.9), abs=1e-9)
    assert np.all(np.diff(knife_edge_db(np.linspace(-0.7, 5, 50))) > 0)


def test_single_wall_gives_the_hand_computed_nu():
    dem = flat(wall=(200, 201, 60.0))  # a wall one pixel thick, 60 m high, centred at x = 2005 m
    f = 1842.5
    (r,) = trace_paths(dem, [5.0], [500.0], [4005.0], [500.0], f, [(30.0, 1.5)], step_m=5)
    d, d1 = 4000.0, 2000.0  # a profile point every 5 m falls on the wall's centre
    lam = float(wavelength_m(f))
    ray = 130.0 + (101.5 - 130.0) * d1 / d
    h = 160.0 + d1 * (d - d1) / (2 * EFFECTIVE_RADIUS_M) - ray
    nu = h * math.sqrt(2 * d / (lam * d1 * (d - d1)))
    assert r.nu_max[0] == pytest.approx(nu, rel=1e-6)
    assert r.edge_fraction[0] * d == pytest.approx(d1) and r.edge_ground_m[0] == pytest.approx(160.0)
    assert not r.line_of_sight[0] and not r.fresnel_clear[0]
    # Deygout on one thin edge: J(nu) plus the empirical correction (ITU-R P.526-8 4.5), nothing else.
    jp = float(knife_edge_db(nu))
    assert r.diffraction_db[0] == pytest.approx(jp + (1 - math.exp(-jp / 6)) * (10 + 0.04 * d / 1000), abs=1e-6)


def test_two_ridges_add_a_secondary_edge():
    one = flat(wall=(200, 201, 60.0))
    two = flat(wall=(200, 201, 60.0))
    two.elevation_m[:, 300] = 150.0  # a second, lower ridge nearer the receiver
    a, = trace_paths(one, [5.0], [500.0], [4005.0], [500.0], 1842.5, [(30.0, 1.5)], step_m=5)
    b, = trace_paths(two, [5.0], [500.0], [4005.0], [500.0], 1842.5, [(30.0, 1.5)], step_m=5)
    assert b.diffraction_db[0] > a.diffraction_db[0] + 3


def test_clear_path_and_fresnel_radius():
    dem = flat()
    (r,) = trace_paths(dem, [5.0], [500.0], [9995.0], [500.0], 900.0, [(40.0, 40.0)])
    # 40 m antennas over flat ground 10 km apart: the ray is 40 m up minus the bulge (2.9 m mid-path);
    # F1 mid-path is sqrt(lambda d / 4) = 28.9 m at 900 MHz: clearance about 1.28 F1.
    lam = float(wavelength_m(900.0))
    f1 = math.sqrt(lam * 9990 / 4)
    bulge = 4995.0 ** 2 / (2 * EFFECTIVE_RADIUS_M)
    assert r.clearance_f1[0] == pytest.approx((40 - bulge) / f1, rel=0.02)
    assert r.fresnel_clear[0] and r.line_of_sight[0] and r.diffraction_db[0] == 0.0


def test_earth_curvature_hides_low_antennas_far_apart():
    # 2 m antennas over flat ground: the radio horizon of a 2 m antenna with k = 4/3 is
    # sqrt(2 k R h) = 5.8 km each, so 10 km apart they see each other, 14 km apart they do not.
    dem = flat(cols=1600)
    near, = trace_paths(dem, [5.0], [500.0], [10005.0], [500.0], 900.0, [(2.0, 2.0)], step_m=10)
    far, = trace_paths(dem, [5.0], [500.0], [14005.0], [500.0], 900.0, [(2.0, 2.0)], step_m=10)
    assert near.line_of_sight[0] and not far.line_of_sight[0]
    horizon = 2 * math.sqrt(2 * EFFECTIVE_RADIUS_M * 2.0)
    assert 10_000 < horizon < 14_000


def test_mast_needed_is_the_lowest_clearing_height():
    dem = flat(wall=(300, 303, 40.0))
    f = 1842.5
    (r,) = trace_paths(dem, [5.0], [500.0], [8005.0], [500.0], f, [(30.0, 0.0)], step_m=5)
    need = float(r.mast_needed_m[0])
    assert 20 < need < 200
    below, at, above = trace_paths(dem, [5.0], [500.0], [8005.0], [500.0], f,
                                   [(30.0, need - 0.5), (30.0, need + 0.01), (30.0, need + 5)], step_m=5)
    assert not below.fresnel_clear[0] and at.fresnel_clear[0] and above.fresnel_clear[0]
    assert at.clearance_f1[0] == pytest.approx(0.6, abs=0.01)


def test_vectorised_paths_equal_single_paths():
    rng = np.random.default_rng(3)
    z = (300 + 40 * rng.standard_normal((200, 200))).astype(np.float32)
    from scipy.ndimage import gaussian_filter

    dem = Dem(gaussian_filter(z, 3).astype(np.float32), (30, 0, 0, 0, -30, 6000), "EPSG:32749")
    n = 40
    x0, y0 = rng.uniform(100, 5900, n), rng.uniform(100, 5900, n)
    x1, y1 = rng.uniform(100, 5900, n), rng.uniform(100, 5900, n)
    f = rng.choice([930.0, 1842.5, 2140.0], n)
    (batch,) = trace_paths(dem, x0, y0, x1, y1, f, [(30.0, 1.5)], step_m=20)
    for i in range(n):
        (one,) = trace_paths(dem, [x0[i]], [y0[i]], [x1[i]], [y1[i]], f[i], [(30.0, 1.5)], step_m=20,)
        # Same points only when the path count does not change n; compare where it cannot.
        assert one.computable[0] == batch.computable[i]
        assert one.diffraction_db[0] == pytest.approx(batch.diffraction_db[i], abs=1.5)
        assert one.distance_m[0] == pytest.approx(batch.distance_m[i])


def test_paths_off_the_dem_are_not_computable():
    dem = flat()
    r, = trace_paths(dem, [5.0, 5.0], [500.0, 500.0], [9000.0, 20_000.0], [500.0, 500.0], 900.0, [(30.0, 1.5)])
    assert list(r.computable) == [True, False]
    assert np.isnan(r.diffraction_db[1]) and np.isnan(r.mast_needed_m[1])


def test_hata_published_values():
    # Okumura-Hata, small/medium city, 900 MHz, h_b 30 m, h_m 1.5 m, 1 km: 126.4 dB (Hata 1980),
    # +35.2 dB per decade; COST-231-Hata at 1800 MHz, 1 km: 136.2 dB (medium city, C_m = 0).
    assert hata_db(1000, 900, 30, 1.5, "urban") == pytest.approx(126.4, abs=0.1)
    assert hata_db(10_000, 900, 30, 1.5, "urban") - hata_db(1000, 900, 30, 1.5, "urban") == \
        pytest.approx(44.9 - 6.55 * math.log10(30), abs=0.01)
    assert hata_db(1000, 1800, 30, 1.5, "urban") == pytest.approx(136.2, abs=0.2)
    suburban = hata_db(1000, 900, 30, 1.5)
    assert suburban == pytest.approx(126.4 - 2 * math.log10(900 / 28) ** 2 - 5.4, abs=0.1)
    assert hata_db(10, 900, 30, 1.5) >= free_space_db(10, 900)  # never better than free space
    # A higher mobile antenna loses less (the a(h_m) term): why home masts help.
    assert hata_db(3000, 1842.5, 30, 6.0) < hata_db(3000, 1842.5, 30, 1.5) - 5


def test_earfcn_and_bands():
    assert earfcn_to_mhz(1575) == pytest.approx(1842.5)  # band 3
    assert earfcn_to_mhz(3500) == pytest.approx(930.0)  # band 8
    assert earfcn_to_mhz(300) == pytest.approx(2140.0)  # band 1
    assert earfcn_to_mhz(38950) == pytest.approx(2330.0)  # band 40 (TDD)
    assert earfcn_to_mhz(70000) is None
    assert nrarfcn_to_mhz(620000) == pytest.approx(3300.0)
    assert band_to_mhz(3) == pytest.approx(1842.5)
    assert parse_band("B8") == (pytest.approx(942.5), "B8")
    assert parse_band("1800") == (1800.0, "1800 MHz")
    for bad in ("B99", "12000", "fast"):
        with pytest.raises(ValueError):
            parse_band(bad)
