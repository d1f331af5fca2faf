"""Fixtures for the report tests: a copy of the simulated village survey (tests/fixtures), rendered once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def survey(village, tmp_path_factory):
    """The simulated village survey, merged and analysed (fixtures.VILLAGE), in a folder of its own."""
    from fixtures import copy_survey

    return copy_survey(village, tmp_path_factory.mktemp("report") / "survey")


@pytest.fixture(scope="session")
def survey_db(survey) -> Path:
    return survey.db


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


@pytest.fixture(scope="session")
def mapped(mapped_village, tmp_path_factory):
    """The village with its basemap and elevation model, marked as simulated (as the demo's is)."""
    from surveyor.app.demo import mark_simulated
    from surveyor.store import open_store

    from fixtures import copy_survey

    built = copy_survey(mapped_village, tmp_path_factory.mktemp("report-mapped") / "survey")
    with open_store(str(built.db)) as store:
        mark_simulated(store)
    return built


@pytest.fixture(scope="session")
def mapped_pdf(mapped, tmp_path_factory) -> Path:
    from surveyor.config import Settings
    from surveyor.render.report import render_report
    from surveyor.store import open_store

    with open_store(str(mapped.db)) as store:
        return render_report(store, Settings(), tmp_path_factory.mktemp("pdf") / "laporan-peta.pdf", lang="id")


@pytest.fixture(scope="session")
def mapped_html_en(mapped, tmp_path_factory) -> str:
    from surveyor.config import Settings
    from surveyor.render.report import render_report
    from surveyor.store import open_store

    with open_store(str(mapped.db)) as store:
        out = render_report(store, Settings(), tmp_path_factory.mktemp("html") / "report.html", lang="en")
    return out.read_text(encoding="utf-8")


def pdf_pages(path: Path) -> list[str]:
    """The text of each page (layout kept), for tests that look at one page."""
    return pdftotext(path).split("\f")
