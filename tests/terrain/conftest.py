"""Fixtures for terrain tests: the simulated village (surveyor.testing.terrain_sim) as a survey folder
with its samples, elevation model and towers, and small survey folders around real DEMs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from fixtures.frames import to_store_frame

OPERATORS = ("Telkomsel", "Indosat", "XL")


def add_samples(store, samples: pd.DataFrame, name: str = "sim.jsonl") -> None:
    from surveyor.store import MergeRecord
    from surveyor.store._arrow import sample_table

    mid = store.new_merge_id()
    df = to_store_frame(samples, "sim.jsonl")
    df["merge_id"] = mid
    store.append("samples", sample_table(df))
    store.commit_merge(MergeRecord(mid, name, f"hash-{name}-{mid}", "journal", "2026-07-20T00:00:00Z",
                                   {"read": len(df), "added": len(df)}))


def make_survey(root: Path, boundary, *, name: str = "Simdesa", code: str = "99.01.01.2001",
                operators=OPERATORS, dusun=None) -> Path:
    """A survey folder (survey.toml, survey.gpkg) for a lon/lat boundary polygon; returns the folder."""
    from surveyor.app.project import init_project

    root.mkdir(parents=True, exist_ok=True)
    (root / "b.geojson").write_text(json.dumps({"type": "Feature", "properties": {},
                                                "geometry": boundary.__geo_interface__}))
    init_project(root, area=root / "b.geojson", name=name, code=code)
    toml = root / "survey.toml"
    text = toml.read_text().replace('operators = ["Telkomsel", "Indosat"]',
                                    "operators = [" + ", ".join(f'"{o}"' for o in operators) + "]")
    if dusun is not None:
        (root / "dusun.geojson").write_text(json.dumps(dusun))
        text = text.replace('dusun = ""', 'dusun = "dusun.geojson"')
    toml.write_text(text)
    return root


def settings_of(root: Path):
    from surveyor.config import load_settings

    return load_settings(root / "survey.toml")


@pytest.fixture(scope="session")
def village():
    from surveyor.testing.terrain_sim import build_village

    return build_village()


@pytest.fixture(scope="session")
def village_survey(village, tmp_path_factory) -> Path:
    """The simulated village as a survey: samples merged, DEM imported, true towers added, analysed."""
    from surveyor.analyse import analyze
    from surveyor.analyse.terrain.towers import add_tower
    from surveyor.ingest.dem import import_dem
    from surveyor.store import open_store
    from surveyor.store.dem import write_geotiff

    root = make_survey(tmp_path_factory.mktemp("sim") / "village", village.boundary)
    settings = settings_of(root)
    write_geotiff(root / "sim-dem.tif", village.dem.elevation_m, village.dem)
    with open_store(str(root / "survey.gpkg")) as store:
        add_samples(store, village.samples)
        import_dem(store, settings, [root / "sim-dem.tif"])
        for t in village.towers_frame().itertuples(index=False):
            add_tower(store, settings, operator=t.operator, lat=t.lat, lon=t.lon, height_m=t.height_m)
        analyze(store, settings)
    return root


@pytest.fixture
def survey_copy(village_survey, tmp_path) -> Path:
    """A copy of the village survey a test may change."""
    dst = tmp_path / "copy"
    shutil.copytree(village_survey, dst)
    return dst
