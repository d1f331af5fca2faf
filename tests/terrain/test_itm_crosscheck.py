"""Longley-Rice (the Irregular Terrain Model, via `itmlogic`) as an independent cross-check of the
terrain path loss: over the simulated village's DEM, both models must see the same ridge.

The two models differ on purpose (ITM is terrain and ground only, Hata includes the clutter of
towns), so their levels are not compared; what must agree is which paths lose more and by how much
the ridge costs. ITM's warning flag ``kwx`` must stay below 3 (parameters within its range)."""

from __future__ import annotations

import math

import numpy as np
import pytest

itmlogic = pytest.importorskip("itmlogic", reason="itmlogic (dev extra) is not installed")


def itm_loss_db(profile: list[float], step_m: float, f_mhz: float, tx_h: float, rx_h: float) -> tuple[float, int]:
    """Median basic transmission loss of ITM point-to-point mode, and its warning flag kwx.

    Equatorial climate (Indonesia), surface refractivity 360 N-units, average ground (permittivity
    15, conductivity 0.005 S/m), vertical polarisation, as the ITM's documentation describes them.
    """
    from itmlogic.preparatory_subroutines.qlrpfl import qlrpfl
    from itmlogic.statistics.avar import avar

    wave_number = f_mhz / 47.7
    ens, gma = 360.0, 157e-9
    prop = {"fmhz": f_mhz, "hg": [tx_h, rx_h], "ipol": 1, "eps": 15.0, "sgm": 0.005, "klim": 1, "ens0": ens,
            "ens": ens, "pfl": [len(profile) - 1, step_m, *profile], "kwx": 0, "lvar": 5, "gma": gma,
            "gme": gma * (1 - 0.04665 * math.exp(ens / 179.3)), "klimx": 0, "mdvarx": 11, "wn": wave_number}
    zq = complex(15.0, 376.62 * 0.005 / wave_number)
    prop["zgnd"] = np.sqrt(zq - 1) / zq
    prop = qlrpfl(prop)
    free_space = 8.685890 * math.log(2 * wave_number * prop["dist"])
    excess, prop = avar(0.0, 0.0, 0.0, prop)
    return free_space + excess, int(prop["kwx"])


@pytest.mark.parametrize("tower_id", ["TSEL-west", "ISAT-east"])
def test_longley_rice_sees_the_same_terrain(village, tower_id):
    from scipy.stats import spearmanr

    from surveyor.analyse.terrain.pathloss import hata_db
    from surveyor.analyse.terrain.paths import trace_paths

    dem = village.dem
    tower = village.tower(tower_id)
    rng = np.random.default_rng(2)
    xs, ys = rng.uniform(-950, 950, 40), rng.uniform(-750, 750, 40)
    lon, lat = village.to_lonlat(xs, ys)
    tlon, tlat = village.to_lonlat(tower.east_m, tower.north_m)
    px, py = dem.xy(lon, lat)
    tx, ty = dem.xy(np.full(40, tlon), np.full(40, tlat))
    (r,) = trace_paths(dem, tx, ty, px, py, tower.frequency_mhz, [(tower.height_m, 1.5)])
    ours = hata_db(r.distance_m, tower.frequency_mhz, tower.height_m, 1.5) + r.diffraction_db
    itm, flags = [], []
    for i in range(len(xs)):
        n = int(r.distance_m[i] // 30) + 1
        profile = dem.sample_segments(tx[i:i + 1], ty[i:i + 1], px[i:i + 1], py[i:i + 1], n)[0]
        loss, kwx = itm_loss_db([float(v) for v in profile], float(r.distance_m[i]) / (n - 1),
                                tower.frequency_mhz, tower.height_m, 1.5)
        itm.append(loss)
        flags.append(kwx)
    itm = np.array(itm)
    assert max(flags) < 3, flags  # ITM ran within its parameter ranges
    assert spearmanr(ours, itm).statistic > 0.9  # the same paths lose more in both models
    shadowed = r.nu_max > 0
    if tower_id == "TSEL-west":
        assert 5 <= shadowed.sum() <= 35  # the ridge hides part of the village, not all of it
        ridge_ours = ours[shadowed].mean() - ours[~shadowed].mean()
        ridge_itm = itm[shadowed].mean() - itm[~shadowed].mean()
        assert ridge_itm > 25 and abs(ridge_ours - ridge_itm) < 12, (ridge_ours, ridge_itm)
    else:
        assert not shadowed.any()  # the Indosat tower on its hill sees the whole village
