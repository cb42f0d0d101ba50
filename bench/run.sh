#!/usr/bin/env bash
# Every benchmark of issue 13 in one command, on a fresh machine; writes bench/RESULTS.md (~15 minutes).
#   bash bench/run.sh            # the full run
#   bash bench/run.sh --quick    # a few hundred events: checks the harness, measures nothing
# Installs what it needs like scripts/test.sh does (venv, the package with its bench extras, the test servers,
# the Kafka connector jars); bench/peer.py apt-installs syslog-ng when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[bench]'
.venv/bin/python scripts/services.py install
.venv/bin/botes fetch-jars
exec .venv/bin/python bench/run.py "$@"
