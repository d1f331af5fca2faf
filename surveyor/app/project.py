"""A survey folder: ``survey.toml``, the geodatabase and the output folders (``surveyor init``)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from surveyor.config import CONFIG_NAME, DEFAULT_DB, load_settings, render_toml
from surveyor.errors import InvalidRequest, OutputExists

FOLDERS = ("samples", "maps", "reports")


def init_project(directory: str | Path = ".", *, area: str | Path | None = None, name: str | None = None,
                 code: str | None = None, language: str | None = None, overwrite: bool = False,
                 backups: list[Path] | None = None) -> list[Path]:
    """Write ``survey.toml``, an empty geodatabase with the area, and the folders; return paths written.

    Lipursari is the default area. ``area`` is any village boundary as GeoJSON: it is copied into the
    folder as ``boundary.geojson`` so the survey folder is complete on its own. With ``overwrite``,
    the survey it replaces (geodatabase, ``survey.toml`` with its exclusion zones, boundary) is first
    copied into ``backups/<timestamp>-init/``, whose path is appended to ``backups``.
    """
    from surveyor.geo.areas import areas_frame, load_boundary
    from surveyor.store import open_store
    from surveyor.store.backup import back_up
    from surveyor.store.survey import remember

    root = Path(directory)
    if area is not None and not (name and code):
        raise InvalidRequest("--area needs --name and --code too.",
                         fix="e.g. surveyor init --area desa.geojson --name Lipursari --code 33.07.05.2002")
    root.mkdir(parents=True, exist_ok=True)
    toml_path = root / CONFIG_NAME
    db_path = root / DEFAULT_DB
    for existing in (toml_path, db_path):
        if existing.exists() and not overwrite:
            raise OutputExists(str(existing), fix="This folder has a survey already; use --overwrite to start "
                                                  "it again (the geodatabase is emptied), or choose another DIR.")
    if area is not None:
        # The boundary is checked before anything is replaced (a swapped lon/lat file is refused here).
        from surveyor.config import Settings

        load_boundary(Settings(boundary=str(Path(area).resolve())))
    if overwrite:
        saved = back_up([db_path, toml_path, root / "boundary.geojson"], root, "init")
        if saved is not None and backups is not None:
            backups.append(saved)
    overrides: dict = {}
    written: list[Path] = []
    if area is not None:
        boundary = root / "boundary.geojson"
        if Path(area).resolve() != boundary.resolve():
            shutil.copyfile(area, boundary)
            written.append(boundary)
        overrides.update(boundary="boundary.geojson", name=name, code=code, district="")
    if language:
        overrides["language"] = language
    toml_path.write_text(render_toml(overrides), encoding="utf-8")
    written.insert(0, toml_path)
    settings = load_settings(toml_path)
    frame = areas_frame(settings)  # validates the boundary before anything else is made
    if db_path.exists():
        db_path.unlink()
    with open_store(str(db_path), create=True) as store:
        store.write_layer("areas", frame)
        remember(store, settings)  # the database carries its survey's settings wherever it goes
    written.append(db_path)
    for folder in FOLDERS:
        (root / folder).mkdir(exist_ok=True)
        written.append(root / folder)
    return written


def bundled_samples_dir() -> Path:
    """The simulated Lipursari sample survey shipped with surveyor."""
    packaged = resources.files("surveyor.data").joinpath("samples")
    if packaged.is_dir():
        return Path(str(packaged))
    here = Path(__file__).resolve().parents[2] / "samples"  # a source checkout
    if here.is_dir():
        return here
    raise FileNotFoundError("the bundled sample survey is missing from this installation")
