#!/usr/bin/env bash
# Install everything the test suite needs, then run the whole suite.
# Debian packages: gpsd + gpsfake (GPS), Chromium (map tests), poppler (PDF checks),
# PostgreSQL 15 + PostGIS 3 (shared store), Pango/HarfBuzz + DejaVu fonts (WeasyPrint reports).
# Used by the README's Quick start and by CI (.ci/run); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(gpsd gpsd-clients chromium poppler-utils postgresql-15-postgis-3 postgresql-15
                 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)

missing=()
if command -v dpkg >/dev/null 2>&1; then
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
    echo "Installing Debian packages: ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages (install them as root): ${missing[*]}" >&2
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[dev]'

# The architecture's contracts (pyproject.toml [tool.importlinter]): layers import only downward,
# the phone logger imports no geospatial stack, no cycles between siblings, click only in the CLI.
lint-imports

# Lint and types ([tool.ruff] and [tool.mypy] in pyproject.toml): the code, the tests, the
# benchmarks and the sample generator lint clean; the package type-checks clean.
ruff check surveyor tests benchmarks samples
mypy

# Services (gpsd via gpsfake, PostgreSQL clusters, HTTP stand-ins) are started by the tests
# themselves on 127.0.0.1 and stopped afterwards.
set +e
python3 -m pytest -q -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
