"""A survey folder with two simulated rounds of the village, before and after a new tower
(:mod:`surveyor.testing.rounds`), merged the way a village merges its walks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

BEFORE = "2026-07-01..2026-07-31"
AFTER = "2026-11-01..2026-11-30"


def write_round(folder: Path, survey) -> list[Path]:
    """One surveyor journal per walk of a simulated round."""
    from surveyor.testing import simulate

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for info in survey.sessions:
        path = folder / f"{info.session}.jsonl"
        path.write_text(simulate.journal_text(survey.session_samples(info.session)), encoding="utf-8")
        paths.append(path)
    return paths


def build_rounds(folder: Path, *, seed: int = 20260714, split: bool = False):
    """The survey folder: both rounds merged into ``survey.gpkg`` (and, with ``split``, each round
    also into ``before.gpkg`` and ``after.gpkg``). Returns (folder, rounds)."""
    from surveyor.app.project import init_project
    from surveyor.config import load_settings
    from surveyor.ingest.merge import MergeOptions, merge_sources
    from surveyor.store import open_store
    from surveyor.testing.rounds import simulate_rounds

    folder = Path(folder)
    init_project(folder)
    rounds = simulate_rounds(seed)
    settings = load_settings(folder / "survey.toml")
    files = {}
    for label, survey in (("before", rounds.before), ("after", rounds.after)):
        files[label] = write_round(folder / "samples" / label, survey)
    with open_store(str(folder / "survey.gpkg")) as store:
        merge_sources(store, [str(folder / "samples")], MergeOptions(tz=settings.timezone))
    if split:
        for label in ("before", "after"):
            with open_store(str(folder / f"{label}.gpkg"), create=True) as store:
                merge_sources(store, [str(folder / "samples" / label)], MergeOptions(tz=settings.timezone))
    return folder, rounds


def truth_of_cells(comparison, rounds) -> pd.DataFrame:
    """Per compared cell and operator, the truth at the positions both rounds sampled in it: the
    share of them without usable 4G before and after, and whether the signal field changed there
    at all (more than 0.01 dB at any of them)."""
    from surveyor.geo.cells import cells_of, to_hex
    from surveyor.testing.rounds import cell_truth

    before_truth, after_truth = rounds.truths
    rows = []
    for survey in (rounds.before, rounds.after):
        df = pd.DataFrame(survey.samples)
        df = df[df["lat"].notna()]
        rows.append(df[["lat", "lon", "operator"]])
    pts = pd.concat(rows, ignore_index=True)
    pts["h3"] = to_hex(cells_of(pts["lat"].to_numpy(), pts["lon"].to_numpy(), comparison.resolution))
    out = []
    for op, grp in pts.groupby("operator"):
        rb, nb = cell_truth(grp["lat"].to_numpy(), grp["lon"].to_numpy(), op, before_truth)
        ra, na = cell_truth(grp["lat"].to_numpy(), grp["lon"].to_numpy(), op, after_truth)
        g = pd.DataFrame({"h3": grp["h3"].to_numpy(), "nb": nb, "na": na, "changed": np.abs(ra - rb) > 0.01})
        agg = g.groupby("h3").agg(before_negative=("nb", "mean"), after_negative=("na", "mean"),
                                  truth_changed=("changed", "any")).reset_index()
        agg["operator"] = op
        out.append(agg)
    truth = pd.concat(out, ignore_index=True)
    return comparison.cells.merge(truth, on=["h3", "operator"], how="left")
