"""The compose stack's one-shot `setup` service: everything that must happen once the servers answer.

1. ``botes setup``: Kafka topics, index templates and ILM policy.
2. The Kibana objects (data view, saved searches, dashboards): ``POST /api/saved_objects/_import?overwrite=true``.
3. The enrichment job: ``botes run --jobmanager $JOBMANAGER``, unless a job of that name is already running
   there (so `docker compose up` again does not start a second copy).

API keys arrive as Docker secrets named after their setting (``/run/secrets/BOTES_SHODAN__API_KEY``); an empty
secret leaves the source off. A ``BOTES_*`` variable set to the empty string means "the default" (compose
cannot leave a variable out), so it is removed before ``botes`` reads its settings.
Exits non-zero, with the reason, at the first step that fails: compose then does not start Logstash.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import requests

SECRETS_DIR = Path("/run/secrets")
JOB_NAME = "botes-enrichment"  # pipeline.flink.job.JOB_NAME (not imported: that would start a JVM gateway)
ACTIVE_JOB_STATES = {"INITIALIZING", "CREATED", "RUNNING", "RESTARTING", "RECONCILING"}
KIBANA_READY_TIMEOUT_S = 300.0


def botes_environment(environ: Mapping[str, str], secrets_dir: Path) -> dict[str, str]:
    """The environment for ``botes``: empty BOTES_* settings dropped, non-empty BOTES_* secrets added."""
    env = {key: value for key, value in environ.items() if not (key.startswith("BOTES_") and value == "")}
    if secrets_dir.is_dir():
        for secret in sorted(secrets_dir.iterdir()):
            value = secret.read_text(encoding="utf-8").strip() if secret.is_file() else ""
            if secret.name.startswith("BOTES_") and value:
                env[secret.name] = value
    return env


def import_kibana_objects(kibana_url: str, auth: tuple[str, str], ndjson: Path, timeout_s: float) -> int:
    """Import (overwriting) the saved objects; returns how many; RuntimeError with Kibana's errors."""
    deadline = time.monotonic() + timeout_s
    while True:
        with ndjson.open("rb") as objects:
            response = requests.post(f"{kibana_url}/api/saved_objects/_import", params={"overwrite": "true"},
                                     headers={"kbn-xsrf": "true"}, auth=auth, timeout=60,
                                     files={"file": (ndjson.name, objects, "application/ndjson")})
        # Kibana answers 503 while its saved-objects service is still starting.
        if response.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(5)
    if response.status_code != 200:
        raise RuntimeError(f"Kibana import: HTTP {response.status_code}: {response.text[:500]}")
    result = response.json()
    if not result.get("success"):
        raise RuntimeError(f"Kibana import failed: {json.dumps(result.get('errors', result))[:2000]}")
    return int(result.get("successCount", 0))


def job_is_active(jobmanager: str, name: str) -> bool:
    """Whether the JobManager runs (or is starting) a job called ``name``."""
    response = requests.get(f"http://{jobmanager}/jobs/overview", timeout=30)
    response.raise_for_status()
    return any(job.get("name") == name and job.get("state") in ACTIVE_JOB_STATES
               for job in response.json().get("jobs", []))


def run(command: list[str], env: dict[str, str]) -> None:
    print("+ " + " ".join(command), flush=True)
    completed = subprocess.run(command, env=env, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"setup: `{' '.join(command)}` exited with {completed.returncode}")


def main() -> None:
    env = botes_environment(os.environ, SECRETS_DIR)
    run(["botes", "setup"], env)

    ndjson = Path(env["KIBANA_OBJECTS"])
    count = import_kibana_objects(env["KIBANA_URL"], (env["KIBANA_USERNAME"], env["KIBANA_PASSWORD"]), ndjson,
                                  KIBANA_READY_TIMEOUT_S)
    print(f"setup: {count} Kibana objects imported from {ndjson.name}", flush=True)

    jobmanager = env["JOBMANAGER"]
    if job_is_active(jobmanager, JOB_NAME):
        print(f"setup: {JOB_NAME} already runs on {jobmanager}; not submitted again", flush=True)
    else:
        run(["botes", "run", "--jobmanager", jobmanager], env)
    print("setup: done", flush=True)


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, requests.RequestException, KeyError) as exc:
        print(f"setup: {exc}", file=sys.stderr)
        sys.exit(1)
