"""Field acquisition: GPS, signal and speed-test sources, the journal writer and the logger loop.

This package is the only device and network code of surveyor, and it runs on phones (Termux) where
the geospatial stack does not install: nothing here may import numpy, pandas, shapely, pyproj,
pyogrio, geopandas, folium or h3, directly or through another surveyor module.
"""
