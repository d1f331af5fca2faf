"""Fixtures for the report tests: one small survey geodatabase (see surveydb.py), rendered once."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _load_surveydb():
    spec = importlib.util.spec_from_file_location("report_surveydb", HERE / "surveydb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


surveydb = _load_surveydb()


@pytest.fixture(scope="session")
def survey_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "survey.gpkg"
    surveydb.build_survey_db(path, nasty=True).close()
    return path


@pytest.fixture(scope="session")
def store(survey_db):
    from surveyor.store import open_store

    with open_store(str(survey_db)) as s:
        yield s


@pytest.fixture(scope="session")
def pdf_id(store, tmp_path_factory) -> Path:
    from surveyor.config import Settings
    from surveyor.render.report import render_report

    return render_report(store, Settings(), tmp_path_factory.mktemp("pdf") / "laporan.pdf", lang="id")


@pytest.fixture(scope="session")
def pdf_en_anon(store, tmp_path_factory) -> Path:
    from surveyor.config import Settings
    from surveyor.render.report import render_report

    return render_report(store, Settings(), tmp_path_factory.mktemp("pdf") / "report.pdf", lang="en",
                         anonymize=True)


def pdftotext(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
