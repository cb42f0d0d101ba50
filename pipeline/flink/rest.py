"""The few calls `botes` makes to a Flink cluster's REST API: its jobs, stop with a savepoint, cancel."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from pipeline.errors import DependencyError

__all__ = ["FlinkRest", "JobInfo", "rest_url"]

# The JobManager is on the cluster's network: no HTTP proxy applies (urllib would use http_proxy otherwise).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def rest_url(address: str) -> str:
    """``host:port`` (or a URL) of the REST endpoint -> ``http://host:port``."""
    address = address.rstrip("/")
    return address if "://" in address else f"http://{address}"


@dataclass(frozen=True, slots=True)
class JobInfo:
    id: str
    name: str
    state: str


class FlinkRest:
    def __init__(self, address: str, timeout: float = 10.0) -> None:
        self.url = rest_url(address)
        self._timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                content = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise DependencyError(f"flink.jobmanager: {method} {path} answered {exc.code}: {detail}") from None
        except OSError as exc:
            raise DependencyError(f"flink.jobmanager: no Flink REST API at {self.url} ({exc})") from None
        return json.loads(content) if content else {}

    def overview(self) -> dict[str, Any]:
        overview: dict[str, Any] = self._call("GET", "/overview")
        return overview

    def jobs(self) -> list[JobInfo]:
        return [JobInfo(job["jid"], job["name"], job["state"]) for job in self._call("GET", "/jobs/overview")["jobs"]]

    def job(self, job_id: str) -> dict[str, Any]:
        details: dict[str, Any] = self._call("GET", f"/jobs/{job_id}")
        return details

    def running(self, name: str) -> list[JobInfo]:
        """Jobs of that name that are not finished (running, restarting, ...)."""
        done = {"FINISHED", "CANCELED", "FAILED"}
        return [job for job in self.jobs() if job.name == name and job.state not in done]

    def cancel(self, job_id: str) -> None:
        self._call("PATCH", f"/jobs/{job_id}?mode=cancel")

    def stop_with_savepoint(self, job_id: str, directory: str, timeout: float = 600.0) -> str:
        """Take a savepoint into ``directory`` and stop the job; returns the savepoint's path."""
        trigger = self._call("POST", f"/jobs/{job_id}/stop", {"targetDirectory": directory, "drain": False})
        request_id = trigger["request-id"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self._call("GET", f"/jobs/{job_id}/savepoints/{request_id}")
            if status["status"]["id"] == "COMPLETED":
                operation = status.get("operation", {})
                if "location" in operation:
                    return str(operation["location"])
                cause = operation.get("failure-cause", {}).get("stack-trace", "unknown reason")
                raise DependencyError(f"the savepoint of job {job_id} failed: {cause.splitlines()[0]}")
            time.sleep(0.5)
        raise DependencyError(f"the savepoint of job {job_id} did not complete within {timeout:.0f} s")
