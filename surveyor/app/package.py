"""``surveyor package``: one zip a community leader sends to Diskominfo and the operators.

Every file in it speaks the glossary's words (:mod:`surveyor.i18n.glossary`):

- the report in Bahasa Indonesia and in English (PDF; HTML where WeasyPrint cannot run);
- the blank-spot sheet (XLSX, ready to print and to copy into the district's list);
- KML of the dead zones and of the coverage cells (the village boundary in each, the map's colours);
- the survey as a GeoPackage for QGIS: cells, dead zones, sites, the village areas and the
  samples, always anonymised (no volunteers, device IDs, notes or file names; positions at their
  H3 cell centre);
- CSV of the cells and of the dead zones;
- ``BACA-SAYA.txt``: in Bahasa Indonesia, what each file is and how to check the package;
- ``SHA256SUMS``: the SHA-256 of every other file, in the form ``sha256sum -c SHA256SUMS`` checks.

Before the reports are written, the package's name and how to verify it are stored in ``meta``
under ``package`` (docs/layers.md), so the report can name the package it belongs to.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from surveyor.config import Settings
from surveyor.errors import PdfUnavailable
from surveyor.files import atomic_path
from surveyor.store.base import Store

log = logging.getLogger(__name__)

CHECKSUMS = "SHA256SUMS"
README = "BACA-SAYA.txt"


@dataclass
class PackageResult:
    """What :func:`build_package` wrote: the zip, and the files inside with their SHA-256."""

    path: Path
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256 hex
    notes: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "desa"


def default_name(settings: Settings, when: datetime | None = None) -> str:
    """``paket-lipursari-2026-07-20.zip``."""
    when = when or datetime.now(UTC)
    return f"paket-{slug(settings.name)}-{when:%Y-%m-%d}.zip"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_package(store: Store, settings: Settings, out: str | os.PathLike, *, anonymize: bool = False,
                  area: str | None = None, say: Callable[[str], None] | None = None) -> PackageResult:
    """Write the package zip to ``out`` (atomically).

    Parameters
    ----------
    store, settings
        The analysed geodatabase and the survey settings.
    out
        The zip to write.
    anonymize
        Reports without personal data (volunteer names, device IDs). The GeoPackage and CSV files
        hold no personal data either way.
    area
        Only this village (Kemendagri code), for shared databases.
    say
        Progress messages.

    Returns
    -------
    PackageResult
    """
    from surveyor.export import export_layer
    from surveyor.outputs.layers import require_analysis
    from surveyor.render.report import render_report

    say = say or (lambda m: None)
    out = Path(out)
    require_analysis(store)
    base = slug(settings.name)
    store.set_meta("package", {"name": out.name, "checksums": CHECKSUMS, "readme": README,
                               "verify": f"sha256sum -c {CHECKSUMS}",
                               "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    result = PackageResult(out)
    with tempfile.TemporaryDirectory(prefix="surveyor-package-") as tmp:
        folder = Path(tmp)
        names: list[tuple[str, str]] = []  # (file name, msgid-free Indonesian description)
        for name, lang, what in ((f"laporan-{base}", "id", "Laporan survei sinyal (Bahasa Indonesia)"),
                                 (f"report-{base}-en", "en", "Laporan yang sama dalam bahasa Inggris")):
            say(f"report ({lang}) ...")
            try:
                path = render_report(store, settings, folder / f"{name}.pdf", lang=lang, area=area,
                                     anonymize=anonymize)
            except PdfUnavailable as exc:
                result.notes.append(f"{exc} The report is in the package as HTML.")
                path = render_report(store, settings, folder / f"{name}.html", lang=lang, area=area,
                                     anonymize=anonymize)
            names.append((path.name, what + (" (PDF)" if path.suffix == ".pdf" else " (HTML, buka di peramban)")))
        say("blank-spot sheet, KML, CSV and GeoPackage ...")
        lang = settings.language
        # (file, layer, format, language of the texts (None: the CSVs have none), what it is)
        for name, layer, fmt, text_lang, what in (
                (f"blankspot-{base}.xlsx", "dead_zones", "blankspot", lang,
                 "Lembar blank spot: satu baris per zona tanpa 4G layak dan per area lemah sinyal, siap "
                 "dicetak (A4 mendatar) dan disalin ke daftar blank spot kabupaten"),
                ("zona-tanpa-4g.kml", "dead_zones", "kml", lang,
                 "Zona tanpa 4G layak untuk Google Earth, dengan batas desa"),
                ("sel-cakupan.kml", "cells", "kml", lang,
                 "Sel cakupan (sekitar 70 m) per operator untuk Google Earth, dengan batas desa"),
                ("zona-tanpa-4g.csv", "dead_zones", "csv", None,
                 "Zona tanpa 4G layak sebagai tabel (CSV, UTF-8), kolom dijelaskan di docs/layers.md"),
                ("sel-cakupan.csv", "cells", "csv", None,
                 "Sel cakupan sebagai tabel (CSV, UTF-8)")):
            path = export_layer(store, settings, folder / name, layer=layer, fmt=fmt, lang=text_lang, area=area)
            names.append((path.name, what))
        gpkg = folder / f"survei-{base}.gpkg"
        _write_geopackage(store, settings, gpkg, area=area)
        names.append((gpkg.name, "Data survei untuk QGIS (GeoPackage): sel, zona, usulan lokasi, batas desa dan "
                                 "sampel yang dianonimkan (tanpa nama relawan, ID perangkat, catatan; posisi di "
                                 "tengah sel H3)"))
        (folder / README).write_text(readme_text(settings, out.name, names, anonymize), encoding="utf-8")
        names.append((README, "Berkas ini"))
        for name, _ in names:
            result.files[name] = sha256_of(folder / name)
        (folder / CHECKSUMS).write_text("".join(f"{h}  {n}\n" for n, h in result.files.items()), encoding="utf-8")
        with atomic_path(out) as target:
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name in [n for n, _ in names] + [CHECKSUMS]:
                    zf.write(folder / name, arcname=name)
    return result


def _write_geopackage(store: Store, settings: Settings, path: Path, *, area: str | None) -> None:
    """One GeoPackage with the analysis layers, the areas and the anonymised samples."""
    import pandas as pd
    import pyogrio

    from surveyor.outputs.layers import load_layer

    layers = {name: load_layer(store, settings, name, area=area, anonymize=True)
              for name in ("cells", "dead_zones", "sites", "samples")}
    areas = store.read_layer("areas")
    if areas is not None and len(areas):
        layers["areas"] = areas
    for name, gdf in layers.items():
        gdf = gdf.copy()
        for c in gdf.columns:
            if c != gdf.geometry.name and (isinstance(gdf[c].dtype, pd.DatetimeTZDtype)
                                           or pd.api.types.is_datetime64_any_dtype(gdf[c].dtype)):
                gdf[c] = gdf[c].map(lambda v: None if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%SZ"))
        kwargs = {"geometry_type": "Unknown"} if len(gdf) == 0 else {}
        pyogrio.write_dataframe(gdf, path, driver="GPKG", layer=name, **kwargs)


def readme_text(settings: Settings, package: str, files: list[tuple[str, str]], anonymize: bool) -> str:
    """BACA-SAYA.txt: what each file is and how to check the package, in Bahasa Indonesia."""
    from surveyor.i18n import glossary

    width = max(len(n) for n, _ in files)
    lines = [f"Paket survei sinyal Desa {settings.name} ({settings.code})", "=" * 60, "",
             f"Paket: {package}", f"Wilayah: {settings.district}",
             f"Kontak: {settings.contact or '(belum diisi)'}", "",
             "Isi paket:", ""]
    lines += [f"  {n:<{width}}  {what}" for n, what in files]
    lines += [f"  {CHECKSUMS:<{width}}  Sidik SHA-256 setiap berkas di atas", "",
              "Istilah (sama di semua berkas):", ""]
    for key in ("dead", "marginal", "covered", "insufficient", "not_surveyed", "blank_spot"):
        lines.append(f"  {glossary.label(key, 'id')}: {glossary.meaning(key, 'id')}")
    lines += ["", "Memeriksa keaslian paket:", "",
              "  Buka zip ke satu folder, lalu di folder itu jalankan:",
              f"    sha256sum -c {CHECKSUMS}          (Linux, atau Git Bash di Windows)",
              f"    shasum -a 256 -c {CHECKSUMS}      (macOS)",
              "  Setiap baris harus berakhir dengan OK. Di Windows tanpa Git Bash:",
              "    certutil -hashfile NAMA-BERKAS SHA256",
              f"  dan bandingkan hasilnya dengan baris berkas itu di {CHECKSUMS}.", ""]
    if anonymize:
        lines.append("Laporan dalam paket ini tidak memuat data pribadi (nama relawan, ID perangkat).")
    else:
        lines.append("Perhatian: laporan dalam paket ini memuat data pribadi (nama relawan, ID perangkat) di "
                     "lampirannya. Untuk dikirim ke luar desa, buat paket dengan --anonymize.")
    lines += ["Data GeoPackage dan CSV tidak memuat data pribadi.", "",
              "Dibuat dengan surveyor. Peta dasar: © kontributor OpenStreetMap, ODbL 1.0 (bila ada).", ""]
    return "\n".join(lines)
