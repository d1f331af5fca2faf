"""Field acquisition: GPS, signal and speed-test sources, the journal writer and the logger loop.

This package is the only device and network code of surveyor, and it runs on phones (Termux) where
the geospatial stack does not install: nothing here may import numpy, pandas, shapely, pyproj,
pyogrio, geopandas, folium or h3, directly or through another surveyor module.
"""


def port_and_baud(option: str, spec: str, arg: str, default_baud: int, example: str) -> tuple[str, int]:
    """A serial device given as ``PATH[@BAUD]`` (``--gps nmea:/dev/ttyACM0@9600``,
    ``--signal at:/dev/ttyUSB2``): its path and baud rate."""
    from surveyor.errors import InvalidRequest

    path, baud = arg, default_baud
    if "@" in arg:
        path, _, b = arg.rpartition("@")
        try:
            baud = int(b)
        except ValueError:
            raise InvalidRequest(f"{option} {spec}: the baud rate must be a number.",
                             fix=f"For example {option} {example}.") from None
    return path, baud
