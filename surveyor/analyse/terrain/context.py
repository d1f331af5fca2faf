"""What every terrain computation starts from: the DEM, the usable towers and the frequencies."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal, overload

import pandas as pd

from surveyor.config import Settings
from surveyor.geo.dem import Dem

log = logging.getLogger(__name__)


@dataclass
class TerrainContext:
    """The survey's DEM and towers, ready for profiles."""

    dem: Dem
    towers: pd.DataFrame  # TOWER_COLUMNS plus ground_m; towers at sea or of impossible height left out
    notes: list[dict] = field(default_factory=list)  # towers left out, and why
    frequencies: dict[str, dict] = field(default_factory=dict)
    area_code: str | None = None

    def towers_of(self, operator: str) -> pd.DataFrame:
        return self.towers[self.towers["operator"] == operator]


@overload
def load_context(store, settings: Settings, *, samples: pd.DataFrame | None = None, area_code: str | None = None,
                 required: Literal[True]) -> TerrainContext: ...


@overload
def load_context(store, settings: Settings, *, samples: pd.DataFrame | None = None, area_code: str | None = None,
                 required: bool = False) -> TerrainContext | None: ...


def load_context(store, settings: Settings, *, samples: pd.DataFrame | None = None, area_code: str | None = None,
                 required: bool = False) -> TerrainContext | None:
    """The DEM and towers of a store (None without a DEM, or :class:`NothingToDo` when ``required``).

    ``samples`` (with ``operator``, ``tech``, ``arfcn``) give the operators' carrier frequencies;
    without them the towers use their own band or the default.
    """
    from surveyor.analyse.terrain.radio import operator_frequencies
    from surveyor.analyse.terrain.towers import check_towers, load_towers
    from surveyor.store.dem import load_dem

    code = area_code or settings.code
    dem = load_dem(store, code, required=required)
    if dem is None:
        return None
    freqs = operator_frequencies(samples) if samples is not None else {}
    towers = load_towers(store, settings, frequencies=freqs, area_code=code)
    towers, notes = check_towers(towers, dem)
    for n in notes:
        log.info("tower %s (%s): %s", n["tower_id"], n["operator"], n["note"])
    return TerrainContext(dem, towers, notes, freqs, code)
