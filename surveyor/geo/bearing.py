"""Initial great-circle bearing and its compass word ("walk 240 m north-east for signal").

Like :mod:`surveyor.geo.distance`, the formula serves plain floats (the phone) and numpy arrays
(``xp=numpy``).
"""

from __future__ import annotations

from typing import Any

from surveyor.geo.distance import MATH

# English keys; the words shown are translated from these by the i18n catalogues.
COMPASS_POINTS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def bearing_deg(lat1: Any, lon1: Any, lat2: Any, lon2: Any, xp: Any = MATH) -> Any:
    """Initial bearing from point 1 to point 2 in degrees clockwise from north, 0 to 360.

    Plain floats by default; numpy arrays with ``xp=numpy``.
    """
    p1, p2 = xp.radians(lat1), xp.radians(lat2)
    dl = xp.radians(lon2 - lon1)
    y = xp.sin(dl) * xp.cos(p2)
    x = xp.cos(p1) * xp.sin(p2) - xp.sin(p1) * xp.cos(p2) * xp.cos(dl)
    return (xp.degrees(xp.arctan2(y, x)) + 360.0) % 360.0


def compass(bearing: float | None) -> str | None:
    """One of eight compass points (an English key, translated where shown) for a bearing in degrees."""
    if bearing is None or bearing != bearing:
        return None
    return COMPASS_POINTS[int(((bearing % 360) + 22.5) // 45) % 8]
