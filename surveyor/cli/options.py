"""Options shared by several commands, defined once.

- ``db_option``: ``--db`` geodatabase path or ``postgresql://`` URL (default ``SURVEYOR_DB`` or
  ``survey.gpkg``).
- ``config_option``: ``--config`` path to ``survey.toml`` (default ``./survey.toml`` when present).
- ``json_option``: ``--json`` machine-readable output on stdout.
- ``lang_option``: ``--lang id|en`` (default: the ``language`` of ``survey.toml``).
- ``operator_option``: ``--operator NAME``, repeatable where a command takes several.
- ``area_option``: ``--area CODE`` limit to one village (shared PostGIS store).
- ``out_option(default)``: ``--out PATH`` and ``overwrite_option``: ``--overwrite``.

Library errors are raised as :class:`surveyor.errors.SurveyorError` and turned into messages by
:func:`surveyor.cli.main`; commands do not catch them.
"""

from __future__ import annotations

import os

import click

from surveyor.config import DEFAULT_DB

db_option = click.option(
    "--db", "db", default=lambda: os.environ.get("SURVEYOR_DB", DEFAULT_DB), show_default="survey.gpkg",
    metavar="PATH|URL", help="Geodatabase: a GeoPackage path or a postgresql:// URL (env SURVEYOR_DB).")
config_option = click.option(
    "--config", "config", default=None, metavar="FILE",
    help="Settings file (default: ./survey.toml when present, else the Lipursari defaults).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
lang_option = click.option("--lang", type=click.Choice(["id", "en"]), default=None,
                           help="Language (default: survey.toml's language, 'id' for Lipursari).")
area_option = click.option("--area", default=None, metavar="CODE",
                           help="Only this village (its Kemendagri code), for shared databases.")
overwrite_option = click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")


def operator_option(multiple: bool = False):
    return click.option("--operator", "operators" if multiple else "operator", multiple=multiple,
                        default=None, metavar="NAME",
                        help="Only this operator (Telkomsel, Indosat, ...)" + (", repeatable." if multiple else "."))


def out_option(default: str | None, help_text: str = "Output file."):
    return click.option("--out", "out", default=default, show_default=default is not None,
                        metavar="PATH", help=help_text)
