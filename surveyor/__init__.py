"""surveyor: a connectivity field-survey toolkit.

Log signal strength and speed tests with GPS, merge everyone's logs and app exports into one
geodatabase, judge coverage per operator on a hexagon grid, and show it on maps and in reports.
"""

__version__ = "0.1.0"
