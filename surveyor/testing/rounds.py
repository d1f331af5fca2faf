"""Two survey rounds of the simulated village, before and after a new tower, with a known truth.

Everything here is SIMULATED. The first round is the simulated village of
:mod:`surveyor.testing.simulate` (July 2026); between the rounds a small new Telkomsel site goes
up in the Kedungsari valley, where the hill between the valley and Telkomsel's sites left no usable
4G: the valley's shadow is gone for Telkomsel and the new site adds a little signal around it. The
second round (November 2026) is walked by the same volunteers on the same routes, with other random
draws. The truth of both rounds is known exactly, so a comparison can be checked cell by cell:
where the median signal went from no usable 4G to usable 4G, and where nothing changed at all
(further than about 800 m from the valley the signal field is the same to a hundredth of a dB).

Public API: :data:`NEW_SITE`, :func:`after_truth`, :func:`simulate_rounds` (returns
:class:`Rounds`), :func:`cell_truth`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import numpy as np

from surveyor.testing import simulate

__all__ = ["AFTER_START", "BEFORE_START", "NEW_SITE", "Rounds", "after_truth", "cell_truth", "simulate_rounds"]

# The new site: a small one in the Kedungsari valley (the centre of the valley's shadow), weaker
# than the existing sites beyond about 700 m.
VALLEY = "west valley (Kedungsari)"
NEW_SITE = simulate.Site("TSEL-Kedungsari baru (sim)", "Telkomsel", -1040.0, -180.0, -100.0, 461299, 12821, 1850,
                         30511, 64)
BEFORE_START = date(2026, 7, 6)
AFTER_START = date(2026, 11, 2)


def after_truth(truth: simulate.Truth | None = None) -> simulate.Truth:
    """The village's truth after the new site is built."""
    truth = truth or simulate.default_truth()
    shadows = tuple(sh for sh in truth.shadows if not (sh.name == VALLEY and sh.operator == NEW_SITE.operator))
    return dataclasses.replace(truth, sites=truth.sites + (NEW_SITE,), shadows=shadows)


@dataclass
class Rounds:
    """The two rounds: their surveys and truths."""

    before: simulate.Survey
    after: simulate.Survey

    @property
    def truths(self) -> tuple[simulate.Truth, simulate.Truth]:
        return self.before.truth, self.after.truth


def simulate_rounds(seed: int = 20260714, *, n_volunteers: int = 4, days: int = 14,
                    interval_s: tuple[float, float] = (1.0, 2.0)) -> Rounds:
    """Both rounds: the same volunteers and routes, the second with the new site and its own seed."""
    before = simulate.simulate_survey(seed=seed, n_volunteers=n_volunteers, days=days, interval_s=interval_s,
                                      start=BEFORE_START)
    after = simulate.simulate_survey(seed=seed + 1, n_volunteers=n_volunteers, days=days, interval_s=interval_s,
                                     start=AFTER_START, truth=after_truth(before.truth))
    return Rounds(before, after)


def cell_truth(lat, lon, operator: str, truth: simulate.Truth) -> tuple[np.ndarray, np.ndarray]:
    """The truth at positions: the median RSRP (dBm) and whether it is no usable 4G."""
    rsrp = truth.rsrp_dbm(lat, lon, operator)
    return rsrp, rsrp < simulate.NEGATIVE_BELOW_DBM
