"""Geometry that every layer uses: distances and bearings on the earth, H3 cells, the village
area and the exclusion zones. The bottom of the import graph, next to :mod:`surveyor.i18n`.

:mod:`surveyor.geo.distance` and :mod:`surveyor.geo.bearing` import only the standard library, so
the field logger (which runs on a phone without numpy) uses them too; the other modules need the
geospatial stack.
"""
