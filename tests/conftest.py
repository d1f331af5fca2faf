"""Fixtures shared by the whole suite.

``shared_data`` is ``../shared/data`` (real files written by others): tests that use it skip with a
reason when it is absent, and fail instead when ``CI=true``, because CI must exercise them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The command line speaks the survey's language (Indonesian by default); the tests assert its
# English wording unless they choose a language themselves (tests/test_cli_language.py).
os.environ.setdefault("SURVEYOR_CLI_LANGUAGE", "en")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("SURVEYOR_SHARED_DATA", REPO.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip when a component is missing; in CI, fail instead (CI must install it)."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


# Headless Chromium for the browser tests: the system's browser (no download is possible here),
# quiet, and a phone's viewport.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps"]
PHONE = {"viewport": {"width": 412, "height": 860}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def playwright():
    """Playwright driving the system Chromium (``SURVEYOR_CHROMIUM``, else ``chromium`` on the
    path), as ``playwright.chromium_exe``."""
    import importlib.util
    import shutil

    exe = os.environ.get("SURVEYOR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    require(exe is not None, "headless Chromium (Debian package chromium) is not installed")
    require(importlib.util.find_spec("playwright") is not None, "playwright is not installed (pip install playwright)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        p.chromium_exe = exe  # type: ignore[attr-defined]
        yield p


@pytest.fixture(scope="session")
def shared_data() -> Path:
    require(SHARED_DATA.is_dir(), f"{SHARED_DATA} (../shared/data) is absent")
    return SHARED_DATA


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture
def invoke(runner):
    """Run the CLI like the console script does (library errors -> message and exit code)."""

    from surveyor.cli import main

    class Result:
        def __init__(self, exit_code: int, stdout: str, stderr: str):
            self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr
            self.output = stdout + stderr

    def run(*args: str, input: str | None = None) -> Result:
        captured = {}

        def target() -> None:
            try:
                main(list(args))
            except SystemExit as exc:
                captured["code"] = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            else:
                captured["code"] = 0

        result = runner.invoke(_Wrapper(target), [], input=input, catch_exceptions=False)
        return Result(captured.get("code", result.exit_code), result.stdout, result.stderr)

    return run


class _Wrapper:
    """Lets CliRunner capture the output of :func:`surveyor.cli.main` (a plain function)."""

    name = "surveyor"

    def __init__(self, fn):
        self.fn = fn

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        self.fn()


# -- survey geodatabases (tests/fixtures): the real merge and analysis of a seeded simulated survey,
#    built once per session; tests that may change one take a copy (fixtures.copy_survey).

@pytest.fixture(scope="session")
def village(tmp_path_factory):
    """fixtures.VILLAGE: two operators, every coverage class for both, dead zones, sites, towers,
    dusun, one walk with a hostile volunteer name and note."""
    from fixtures import VILLAGE, build_survey

    return build_survey(tmp_path_factory.mktemp("village") / "survey", VILLAGE)


@pytest.fixture(scope="session")
def hostile_village(tmp_path_factory):
    """fixtures.HOSTILE: the second operator, a dusun, notes and a tower carry HTML payloads."""
    from fixtures import HOSTILE, build_survey

    return build_survey(tmp_path_factory.mktemp("hostile") / "survey", HOSTILE)


@pytest.fixture(scope="session")
def merged_only(tmp_path_factory):
    """fixtures.MERGED_ONLY: samples merged, no analysis yet."""
    from fixtures import MERGED_ONLY, build_survey

    return build_survey(tmp_path_factory.mktemp("merged") / "survey", MERGED_ONLY)


@pytest.fixture(scope="session")
def mapped_village(tmp_path_factory):
    """fixtures.MAPPED: the village with its OpenStreetMap extract and elevation model imported
    (roads, houses, names, relief; terrain verdicts and predictions in the analysis)."""
    from fixtures import MAPPED, build_survey

    return build_survey(tmp_path_factory.mktemp("mapped") / "survey", MAPPED)
