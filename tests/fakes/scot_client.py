"""Playing SCOT4 against an enrichment host: a `botes scot serve` subprocess, and SCOT4's own way of calling it.

``trigger`` sends what ``send_flair_enrichment_request`` sends (sandialabs/scot4-api @ a061ff80
``src/app/utils.py``): a ``requests`` POST to ``ENRICHMENT_HOST + ENRICHMENT_API_JOB_ENDPOINT`` (the
``[ENTITY_TYPE_PLACEHOLDER]`` replaced by the entity's type), ``data=json.dumps({"conf": ...})``, HTTP Basic
``auth=(ENRICHMENT_USERNAME, ENRICHMENT_PASSWORD)`` and ``Content-Type: application/json``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

__all__ = ["ScotServe", "trigger", "ENDPOINT", "SCOT_DOCS_ENDPOINT"]

# SCOT4's default (its Helm chart, sandialabs/scot4 @ c8ec6895 scot4/values.yaml) and the spelling of its
# documentation (sandialabs/scot4-docs @ 214a667c content/administration/enrichments.md).
ENDPOINT = "/api/v1/dags/scot4_entity_[ENTITY_TYPE_PLACEHOLDER]_enrichment/dagRuns"
SCOT_DOCS_ENDPOINT = "/api/v1/dags/scot_entity_[ENTITY_TYPE_PLACEHOLDER]_enrichment/dagRuns"
START_TIMEOUT = 120.0


def trigger(host: str, entity_id: int, entity_type: str, value: str, callback_url: str,
            auth: tuple[str, str] | None, endpoint: str = ENDPOINT, session: requests.Session | None = None
            ) -> requests.Response:
    session = session or requests.Session()
    post_url = (host + endpoint).replace("[ENTITY_TYPE_PLACEHOLDER]", entity_type)
    req_dict = {"conf": {"entity_id": entity_id, "entity_type": entity_type, "entity_value": value,
                         "callback_url": callback_url}}
    return session.post(post_url, data=json.dumps(req_dict), auth=auth, headers={"Content-Type": "application/json"},
                        verify=os.environ.get("REQUESTS_CA_BUNDLE"), timeout=60)


class ScotServe:
    """`botes scot serve --listen 127.0.0.1:0` with ``env`` added to this environment; its log in ``log``."""

    def __init__(self, env: dict[str, str], log: Path, python: str = sys.executable) -> None:
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen([python, "-m", "pipeline", "scot", "serve", "--listen", "127.0.0.1:0"],
                                        env={**os.environ, **env}, stdout=self._log_file,
                                        stderr=subprocess.STDOUT, text=True)
        self.url = self._wait_until_listening()

    def _wait_until_listening(self) -> str:
        try:
            return self.wait_for_log(r"listening on (http://\S+)", START_TIMEOUT).group(1)
        except AssertionError:
            self.stop()
            raise

    def wait_for_log(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        """The first match of ``pattern`` in the log, once the service has written it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log.read_text())
            if found:
                return found
            if self.process.poll() is not None:
                raise AssertionError(f"botes scot serve exited {self.process.returncode}:\n{self.log.read_text()}")
            time.sleep(0.1)
        raise AssertionError(f"botes scot serve did not log {pattern!r} in {timeout} s:\n{self.log.read_text()}")

    def get(self, path: str, auth: tuple[str, str] | None) -> requests.Response:
        return requests.get(self.url + path, auth=auth, timeout=60)

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = requests.get(self.url + "/health", timeout=60).json()
        return answer

    def wait_until_idle(self, timeout: float = 120.0) -> None:
        """Until no enrichment is in flight (every accepted request has finished posting)."""
        deadline = time.monotonic() + timeout
        while self.health()["in_flight"]:
            if time.monotonic() > deadline:
                raise AssertionError(f"enrichments still in flight after {timeout} s:\n{self.log.read_text()}")
            time.sleep(0.1)

    def run_state(self, dag_id: str, run_id: str, auth: tuple[str, str], until: tuple[str, ...] = ("success", "failed"),
                  timeout: float = 120.0) -> dict[str, Any]:
        """The run once its state is one of ``until``."""
        deadline = time.monotonic() + timeout
        while True:
            run: dict[str, Any] = self.get(f"/api/v1/dags/{dag_id}/dagRuns/{run_id}", auth).json()
            if run["state"] in until or time.monotonic() > deadline:
                return run
            time.sleep(0.1)

    def stop(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()
        return self.process.returncode
