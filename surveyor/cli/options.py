"""Options shared by several commands, defined once.

- ``db_option``: ``--db`` geodatabase path or ``postgresql://`` URL (default ``SURVEYOR_DB`` or
  ``survey.gpkg``).
- ``config_option``: ``--config`` path to ``survey.toml`` (default ``./survey.toml`` when present).
- ``json_option``: ``--json`` machine-readable output on stdout.
- ``lang_option``: ``--lang id|en`` (default: the ``language`` of ``survey.toml``).
- :func:`load_settings`: ``survey.toml``, ``SURVEYOR_*`` and the flags that set a setting
  (``--resolution``, ``--tz``, ``--lang``), all judged by :func:`surveyor.config.check_value`.
- ``operator_option``: ``--operator NAME``, repeatable where a command takes several.
- ``area_option``: ``--area CODE`` the area and everything inside it (both stores).
- ``district_option``: ``--district CODE`` the per-village overview of a district.
- ``out_option(default)``: ``--out PATH`` and ``overwrite_option``: ``--overwrite``;
  :func:`output_path` applies the output policy for both (once, for every command).

Library errors are raised as :class:`surveyor.errors.SurveyorError` and turned into messages by
:func:`surveyor.cli.main`; commands do not catch them.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

from surveyor.config import DEFAULT_DB, SETTINGS

# Flags that set a setting: its name -> the flag, so a message names what was typed. The values
# are not checked by click but by the settings' own rules, as file and environment values are.
SETTING_FLAGS = {"resolution": "--resolution", "timezone": "--tz", "language": "--lang"}
LANGUAGES = next(s.allowed.values for s in SETTINGS if s.name == "language")

db_option = click.option(
    "--db", "db", default=lambda: os.environ.get("SURVEYOR_DB", DEFAULT_DB), show_default="survey.gpkg",
    metavar="PATH|URL", help="Geodatabase: a GeoPackage path or a postgresql:// URL (env SURVEYOR_DB).")
config_option = click.option(
    "--config", "config", default=None, metavar="FILE",
    help="Settings file (default: ./survey.toml when present, else the Lipursari defaults).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
lang_option = click.option("--lang", default=None, metavar="|".join(LANGUAGES),
                           help="Language (default: survey.toml's language, 'id' for Lipursari).")
area_option = click.option("--area", default=None, metavar="CODE",
                           help="Only this area (a Kemendagri code) and everything inside it: a village, "
                                "a kecamatan (33.07.05) or a kabupaten (33.07).")
district_option = click.option("--district", default=None, metavar="CODE",
                               help="The overview of a district (a kecamatan or kabupaten code): one row "
                                    "and one polygon per village inside it.")
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")


def operator_option(multiple: bool = False):
    return click.option("--operator", "operators" if multiple else "operator", multiple=multiple,
                        default=None, metavar="NAME",
                        help="Only this operator (Telkomsel, Indosat, ...)" + (", repeatable." if multiple else "."))


def out_option(default: str | None, help_text: str = "Output file."):
    return click.option("--out", "out", default=default, show_default=default is not None,
                        metavar="PATH", help=help_text)


def load_settings(config: str | None, *, required: bool = False, **flags):
    """The survey's settings with the flags given (``resolution``, ``timezone``, ``language``; None
    when not given) applied; a value not allowed is refused like one in ``survey.toml``."""
    from surveyor.config import load_settings as load

    return load(config, required=required, flags={name: (SETTING_FLAGS[name], v) for name, v in flags.items()})


def check_flags(**flags) -> None:
    """Refuse (usage error) flags that set a setting to a value it does not allow."""
    from surveyor.config import check_flags as check

    check({name: (SETTING_FLAGS[name], v) for name, v in flags.items()})


@contextmanager
def output_path(out: str | os.PathLike, overwrite: bool) -> Iterator[Path]:
    """The output policy of every command that writes a file, in one place.

    An existing file is kept unless ``--overwrite`` is given; a folder is never a file to write;
    missing folders of the path named are created for the write (and said so on stderr), and
    taken away again when the command fails, so nothing is left outside what was asked for.
    The library functions inside the block write the file atomically.
    """
    from surveyor.errors import OutputExists

    path = Path(out)
    if path.is_dir():
        raise click.UsageError(f"--out {path} is a folder; give a file name.")
    if path.exists() and not overwrite:
        raise OutputExists(str(path))
    created = []
    folder = path.parent
    while not folder.exists():
        created.append(folder)
        folder = folder.parent
    for f in reversed(created):
        f.mkdir()
    try:
        yield path
    except BaseException:
        for f in created:
            if f.exists() and not any(f.iterdir()):
                f.rmdir()
        raise
    if created:
        click.echo(f"Created folder {created[0]} for the output.", err=True)
