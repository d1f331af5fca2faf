"""Fixtures for the export tests: a copy of the simulated village survey (tests/fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def survey(village, tmp_path_factory):
    """The simulated village survey, merged and analysed (fixtures.VILLAGE), in a folder of its own."""
    from fixtures import copy_survey

    return copy_survey(village, tmp_path_factory.mktemp("export") / "survey")


@pytest.fixture(scope="session")
def survey_db(survey) -> Path:
    return survey.db


@pytest.fixture(scope="session")
def store(survey_db):
    from surveyor.store import open_store

    with open_store(str(survey_db)) as s:
        yield s


@pytest.fixture
def settings():
    from surveyor.config import Settings

    return Settings()
