"""Terrain: why a dead zone is dead, what a new tower or a home antenna would fix.

Built on the survey's elevation model (``surveyor dem import``) and its towers (OpenCelliD plus
``surveyor towers add``). The method, formulas, assumptions and their sources are in
docs/terrain.md; in short:

- :mod:`~surveyor.analyse.terrain.paths`: profiles over the DEM with the 4/3 earth, line of sight,
  first-Fresnel-zone clearance, Deygout knife-edge diffraction (ITU-R P.526), vectorised.
- :mod:`~surveyor.analyse.terrain.pathloss`: Okumura-Hata / COST-231-Hata median loss.
- :mod:`~surveyor.analyse.terrain.model` and :mod:`~surveyor.analyse.terrain.prediction`: predicted
  RSRP, calibrated per operator on the survey's own cells, cross-validated by held-out session.
- :mod:`~surveyor.analyse.terrain.verdicts`: the terrain verdict of each dead zone.
- :mod:`~surveyor.analyse.terrain.antenna`: where to point a home antenna, and how high.
- :mod:`~surveyor.analyse.terrain.sites`: where a new tower would serve the most.

:func:`apply` is the one hook ``surveyor analyze`` calls.
"""

from __future__ import annotations

from surveyor.analyse.terrain.apply import apply

__all__ = ["apply"]
