"""Fixtures for the export tests: the survey geodatabase of tests/report/surveydb.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("export_surveydb", HERE.parent / "report" / "surveydb.py")
surveydb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(surveydb)


@pytest.fixture(scope="session")
def survey_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "survey.gpkg"
    surveydb.build_survey_db(path, nasty=True).close()
    return path


@pytest.fixture(scope="session")
def store(survey_db):
    from surveyor.store import open_store

    with open_store(str(survey_db)) as s:
        yield s


@pytest.fixture
def settings():
    from surveyor.config import Settings

    return Settings()
