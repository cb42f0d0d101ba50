#!/usr/bin/env bash
# The SCOT DAGs (scot/dags/) under a real Apache Airflow 2.11, in Airflow's own virtualenv:
#   - Airflow 2.11.2 in .airflow/venv (AIRFLOW_VENV), with the versions in scot/airflow-constraints-2.11.2.txt:
#     Airflow's published constraints file lives on GitHub, which these machines cannot reach, so the set that
#     resolved and passed here is recorded instead. Where GitHub is reachable, AIRFLOW_CONSTRAINTS=<url or
#     file> uses another set, e.g. https://raw.githubusercontent.com/apache/airflow/constraints-2.11.2/constraints-3.11.txt
#   - botes-pipeline installed --no-deps beside it, with the libraries in scot/requirements-airflow.txt
#   - a fresh AIRFLOW_HOME (SQLite) per run, scot/dags/ as the DAG folder, the REST API with Basic auth
# Then tests/airflow/: the DAGs parsed by DagBag, run with dag.test() against the loopback SCOT API, providers
# and a real redis-server, and Airflow's own REST API compared with `botes scot serve` (run from .venv).
# scripts/test.sh runs it after the main suite (a minute or more, installing Airflow the first time). Arguments go
# to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
AIRFLOW_VERSION=2.11.2
AIRFLOW_VENV=${AIRFLOW_VENV:-.airflow/venv}
CONSTRAINTS=${AIRFLOW_CONSTRAINTS:-scot/airflow-constraints-$AIRFLOW_VERSION.txt}

# The project's own virtualenv runs `botes scot serve` and provides redis-server (scripts/services.py).
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[test]'
fi
.venv/bin/python scripts/services.py install

if [ ! -x "$AIRFLOW_VENV/bin/airflow" ] || [ "$("$AIRFLOW_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("apache-airflow"))' 2>/dev/null)" != "$AIRFLOW_VERSION" ]; then
    rm -rf "$AIRFLOW_VENV"
    "$PYTHON" -m venv "$AIRFLOW_VENV"
    "$AIRFLOW_VENV/bin/python" -m pip install -q --upgrade pip
fi
"$AIRFLOW_VENV/bin/python" -m pip install -q -c "$CONSTRAINTS" "apache-airflow==$AIRFLOW_VERSION" \
    -r scot/requirements-airflow.txt pytest dnslib
"$AIRFLOW_VENV/bin/python" -m pip install -q --no-deps -e .
mkdir -p .airflow
"$AIRFLOW_VENV/bin/python" -m pip freeze --exclude-editable > .airflow/resolved.txt

AIRFLOW_HOME=$(mktemp -d "${TMPDIR:-/tmp}/botes-airflow-home.XXXXXX")
trap 'rm -rf "$AIRFLOW_HOME"' EXIT
export AIRFLOW_HOME
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/scot/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__API__AUTH_BACKENDS=airflow.providers.fab.auth_manager.api.auth.backend.basic_auth,airflow.api.auth.backend.session
export AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING
export PYTHONWARNINGS=${PYTHONWARNINGS:-ignore::DeprecationWarning}
"$AIRFLOW_VENV/bin/airflow" db migrate >/dev/null
echo "Airflow $("$AIRFLOW_VENV/bin/python" -c 'import airflow; print(airflow.__version__)') in $AIRFLOW_VENV" \
     "($(wc -l < .airflow/resolved.txt) packages, listed in .airflow/resolved.txt)"

BOTES_AIRFLOW_TESTS=1 BOTES_PYTHON="$PWD/.venv/bin/python" \
    "$AIRFLOW_VENV/bin/python" -m pytest tests/airflow -p no:cacheprovider "$@"
