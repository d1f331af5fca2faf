"""Benchmark of ``surveyor compare`` against a known truth: two rounds of the simulated village,
before and after a new Telkomsel site in the Kedungsari valley (:mod:`surveyor.testing.rounds`).

For each seed: both rounds are written as journals, merged into one GeoPackage (the real merge),
and compared by period with the library call of ``surveyor compare``. Each compared cell is then
checked against the truth at the positions both rounds sampled in it:

- **fixed**: the truth went from no usable 4G (median RSRP under -115 dBm at more than 90% of the
  positions) to usable 4G (at fewer than 10%): every one must be found *improved*;
- **untouched**: the signal field did not change at any position (within 0.01 dB): at most 5% of
  those tested (enough evidence in both rounds) may be called improved or worsened.

Usage::

    python benchmarks/bench_compare.py               # seeds 20260714, 1, 2
    python benchmarks/bench_compare.py --seeds 5,6,7,8
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def run_seed(seed: int) -> dict:
    from district.rounds_survey import AFTER, BEFORE, build_rounds, truth_of_cells

    from surveyor.analyse.compare import compare_rounds, parse_period
    from surveyor.config import load_settings
    from surveyor.store import open_store

    with tempfile.TemporaryDirectory(prefix="surveyor-bench-compare-") as tmp:
        folder, rounds = build_rounds(Path(tmp) / "survey", seed=seed)
        settings = load_settings(folder / "survey.toml")
        t = time.perf_counter()
        with open_store(str(folder / "survey.gpkg")) as store:
            comparison = compare_rounds(store, store, settings,
                                        before_period=parse_period(BEFORE, settings.timezone),
                                        after_period=parse_period(AFTER, settings.timezone))
        seconds = time.perf_counter() - t
        truth = truth_of_cells(comparison, rounds)
    fixed = truth[(truth["before_negative"] > 0.9) & (truth["after_negative"] < 0.1)]
    same = truth[truth["truth_changed"].eq(False)]  # NaN (cells the truth does not cover) left out
    tested = same[same["change"] != "not_enough_evidence"]
    false_calls = int(tested["change"].isin(["improved", "worsened"]).sum())
    return {"seed": seed, "seconds": seconds, "cells": len(truth), "fixed": len(fixed),
            "fixed_improved": int((fixed["change"] == "improved").sum()), "untouched": len(same),
            "untouched_tested": len(tested), "false_calls": false_calls,
            "counts": comparison.counts(), "samples": (comparison.before.samples, comparison.after.samples)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="20260714,1,2", help="comma-separated seeds of the simulated rounds")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    results = [run_seed(int(s)) for s in args.seeds.split(",")]
    print(f"{'seed':>9} {'samples before/after':>21} {'cells':>6} {'fixed':>6} {'improved':>8} {'untouched':>9} "
          f"{'tested':>6} {'false calls':>11} {'share':>6} {'compare s':>9}")
    for r in results:
        share = r["false_calls"] / r["untouched_tested"] if r["untouched_tested"] else float("nan")
        print(f"{r['seed']:>9} {r['samples'][0]:>10,}/{r['samples'][1]:<10,} {r['cells']:>6} {r['fixed']:>6} "
              f"{r['fixed_improved']:>8} {r['untouched']:>9} {r['untouched_tested']:>6} {r['false_calls']:>11} "
              f"{share:>6.1%} {r['seconds']:>9.2f}")
    fixed = sum(r["fixed"] for r in results)
    found = sum(r["fixed_improved"] for r in results)
    tested = sum(r["untouched_tested"] for r in results)
    calls = sum(r["false_calls"] for r in results)
    print(f"\nAll seeds: {found} of {fixed} fixed cells found improved (target: all); {calls} of {tested} "
          f"untouched cells called improved or worsened, {calls / tested:.1%} (target: at most 5%).")


if __name__ == "__main__":
    main()
