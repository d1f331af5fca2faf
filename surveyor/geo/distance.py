"""Great-circle distance (haversine) on a sphere of the earth's mean radius.

One formula for plain floats (the field logger on a phone, without numpy) and for numpy arrays
(everything else): callers with arrays pass ``xp=numpy``. The spherical error against the WGS84
ellipsoid is under 0.5%, far below GPS noise at the tens to thousands of metres surveyor measures.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

# IUGG mean earth radius R1 = (2a + b) / 3 of WGS84, in metres.
EARTH_RADIUS_M = 6_371_008.8

# The few functions the formulas need, under numpy's names, for plain floats.
MATH = SimpleNamespace(sin=math.sin, cos=math.cos, sqrt=math.sqrt, arcsin=math.asin, arctan2=math.atan2,
                       radians=math.radians, degrees=math.degrees, minimum=min, maximum=max)


def haversine_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any, xp: Any = MATH) -> Any:
    """Distance in metres between points given in degrees.

    Plain floats by default; numpy arrays (or values numpy broadcasts) with ``xp=numpy``.
    """
    p1, p2 = xp.radians(lat1), xp.radians(lat2)
    dp, dl = p2 - p1, xp.radians(lon2 - lon1)
    a = xp.sin(dp / 2) ** 2 + xp.cos(p1) * xp.cos(p2) * xp.sin(dl / 2) ** 2
    # Rounding can push a a hair outside [0, 1] for antipodal or identical points.
    return 2 * EARTH_RADIUS_M * xp.arcsin(xp.sqrt(xp.minimum(xp.maximum(a, 0.0), 1.0)))

