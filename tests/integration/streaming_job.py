"""The Kafka job as the tests run it: `botes run` in a process of its own, stopped when the test is done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["streaming_job"]


@contextmanager
def streaming_job(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """`botes run` (Kafka -> enrich -> index) with ``env`` added to this environment, its output in ``log``; on
    leaving, SIGTERM to its whole process group (the Flink JVM and Python workers with it)."""
    with log.open("w") as log_file:
        job = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], env={**os.environ, **env},
                               stdout=log_file, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        yield job
    finally:
        os.killpg(job.pid, signal.SIGTERM)
        job.wait(30)
