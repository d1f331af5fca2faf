"""The ``surveyor`` command line: a click group whose commands live one per module.

Commands are imported only when run, so ``surveyor --help`` and ``surveyor log`` stay fast and
``surveyor log`` imports nothing of the geospatial stack (it must run in Termux on a phone).
Library exceptions (:class:`surveyor.errors.SurveyorError`) become one-line messages with exit
code 1 (2 for usage errors); ``-v`` shows the traceback as well. Help texts, messages and click's
own words are in Bahasa Indonesia or English (:mod:`surveyor.cli.texts`).
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from surveyor import __version__
from surveyor.cli.texts import _, cli_language, translated, use_language

# command name -> (module, one-line help shown by `surveyor --help` without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("surveyor.cli.init", "Start a survey folder: survey.toml, an empty geodatabase, folders."),
    "demo": ("surveyor.cli.demo", "Run the whole job on the bundled Lipursari sample survey."),
    "log": ("surveyor.cli.log", "Log signal, speed tests and GPS into a crash-safe journal."),
    "merge": ("surveyor.cli.merge", "Import journals, app exports, tracks and towers into the geodatabase."),
    "remove": ("surveyor.cli.remove", "Take merged data out again (by source file, session or device)."),
    "sources": ("surveyor.cli.sources", "List every merged source, with its counts and how to remove it."),
    "status": ("surveyor.cli.status", "Show what the geodatabase holds."),
    "basemap": ("surveyor.cli.basemap",
                "Store the village's OpenStreetMap data (roads, buildings, water, places) for maps."),
    "analyze": ("surveyor.cli.analyze", "Judge coverage per cell and operator; find dead zones and sites."),
    "deadzones": ("surveyor.cli.deadzones", "List the dead zones with their evidence."),
    "revisit": ("surveyor.cli.revisit", "List cells that need more evidence, as a table, CSV or GPX."),
    "map": ("surveyor.cli.map", "Write the interactive coverage map (one offline HTML file)."),
    "print": ("surveyor.cli.print", "Write a printable coverage map (PDF or PNG)."),
    "report": ("surveyor.cli.report", "Write the advocacy report (PDF or HTML)."),
    "package": ("surveyor.cli.package",
                "Write one zip for Diskominfo and the operators: reports, sheet, KML, data, checksums."),
    "export": ("surveyor.cli.export", "Export layers as GeoJSON, KML, CSV, GeoPackage, XLSX or the blank-spot sheet."),
    "push": ("surveyor.cli.push", "Copy a village GeoPackage into the shared PostGIS database."),
    "pull": ("surveyor.cli.pull", "Copy a village's data from the shared PostGIS database into a GeoPackage."),
    "dem": ("surveyor.cli.dem", "Import the elevation model (SRTM, Copernicus, DEMNAS tiles) for terrain analysis."),
    "towers": ("surveyor.cli.towers", "Add towers by hand, or list the towers terrain analysis uses."),
    "antenna": ("surveyor.cli.antenna", "Where to point a home antenna, and how high, per operator."),
    "sites": ("surveyor.cli.sites", "Propose where a new tower would serve the most dead places."),
    "compare": ("surveyor.cli.compare", "Compare two survey rounds cell by cell: improved, worsened or not."),
}


# Packages of the full installation that a phone with only the logger's dependencies lacks.
FULL_INSTALL = {"numpy", "pandas", "pyarrow", "geopandas", "shapely", "pyproj", "pyogrio", "h3", "folium",
                "scipy", "matplotlib", "weasyprint", "jinja2", "filelock", "openpyxl", "osmium", "rasterio",
                "sqlalchemy", "psycopg", "geoalchemy2", "xyzservices", "branca", "psutil"}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs, in the language of
    the run (help texts and messages translated)."""

    def main(self, args=None, *pargs, **kwargs):
        argv = list(sys.argv[1:] if args is None else args)
        use_language(cli_language(argv))
        # The group's own help, from the English originals each run (the language may change
        # between runs in one process, as in tests).
        if not hasattr(self, "_english"):
            self._english = (self.help, list(self.params))
        english_help = self._english[0]
        self.help = _(english_help) if english_help is not None else None
        self.params = translated(click.Command("x", params=self._english[1])).params
        return super().main(args, *pargs, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, short_help = COMMANDS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise

            @click.command(name=name, help=_(short_help) + " " + _("(not available in this version)"))
            def unavailable() -> None:
                raise click.ClickException(_("`surveyor {name}` is not available in this installation.").format(
                    name=name))

            return unavailable
        command = translated(module.command)
        command.short_help = _(short_help)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="surveyor")
@click.option("-v", "--verbose", count=True, help="More messages on stderr; -v also shows tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """surveyor: map where phones get usable 4G, and where they do not.

    Log signal and speed tests on survey walks, merge everyone's logs and app exports into one
    geodatabase, find dead zones per operator, and make maps and reports for the village.
    """
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else
                                         logging.INFO if verbose == 1 else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; maps library errors to exit codes 1 and 2."""
    from surveyor.errors import SurveyorError

    # Before the command's own options: -v, -vv, --verbose, and short flags combined (-qv, -vq).
    args = argv if argv is not None else sys.argv[1:]
    verbose = any(a == "--verbose" or (a.startswith("-") and not a.startswith("--") and "v" in a[1:]
                                       and set(a[1:]) <= {"v", "q"})
                  for a in args[:next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))])
    try:
        code = cli.main(args=argv, prog_name="surveyor", standalone_mode=False)
        if isinstance(code, int) and code:  # ctx.exit(n) returns n when not standalone
            sys.exit(code)
    except click.exceptions.Abort:
        click.echo(_("Aborted."), err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SurveyorError as exc:
        if verbose:
            import traceback
            traceback.print_exc()
        click.echo(_("Error: {message}").format(message=exc), err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo(_("Interrupted."), err=True)
        sys.exit(130)
    except ModuleNotFoundError as exc:
        # Only the field logger runs with the logger's dependencies alone (a phone in Termux).
        if verbose or (exc.name or "").split(".")[0] not in FULL_INSTALL:
            raise
        command = next((a for a in args if not a.startswith("-")), "this command")
        click.echo(f"Error: `surveyor {command}` needs the full installation ({exc.name} is not installed here; "
                   "only `surveyor log` runs with the logger's dependencies alone). Install surveyor with its "
                   "dependencies (`pip install surveyor`), or copy the journal to a computer that has them and "
                   "run it there.", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(0)
