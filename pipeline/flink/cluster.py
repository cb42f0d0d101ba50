"""A standalone Flink session cluster on this machine, run from the Flink distribution inside the
apache-flink wheel (``pyflink/bin``, ``lib``, ``plugins``): a JobManager and TaskManagers as separate JVMs.

Each cluster lives in one folder: ``conf/`` (the project's shared settings, ``conf/config.yaml`` of this
package, plus Flink's logging files), ``log/``, ``run/`` (pid files), ``checkpoints/`` and ``savepoints/``.
What differs per machine (addresses, ports, that folder) is passed as ``-D`` options, so the settings file
stays the one the compose images use.

``botes cluster start/stop`` runs the daemons with Flink's own scripts; scripts/services.py runs the same
command lines in the foreground to own (and kill) each process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pyflink

from pipeline.errors import DependencyError

__all__ = ["FLINK_HOME", "SHARED_CONFIG", "ClusterLayout", "LOOPBACK", "prepare_layout", "jobmanager_options",
           "taskmanager_options", "script", "flink_python_jar", "start_daemons", "stop_daemons"]

FLINK_HOME = Path(pyflink.__file__).resolve().parent
SHARED_CONFIG = Path(__file__).resolve().parent / "conf" / "config.yaml"
LOOPBACK = "127.0.0.1"
_LOGGING_FILES = ("log4j.properties", "log4j-console.properties", "log4j-cli.properties",
                  "log4j-session.properties", "logback.xml", "logback-console.xml", "logback-session.xml")


@dataclass(frozen=True, slots=True)
class ClusterLayout:
    root: Path

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def pid_dir(self) -> Path:
        return self.root / "run"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def savepoints(self) -> Path:
        return self.root / "savepoints"

    def environment(self) -> dict[str, str]:
        """The variables Flink's scripts read: where the settings, logs and pid files are."""
        return {**os.environ, "FLINK_CONF_DIR": str(self.conf_dir), "FLINK_LOG_DIR": str(self.log_dir),
                "FLINK_PID_DIR": str(self.pid_dir)}


def prepare_layout(root: Path) -> ClusterLayout:
    """Create the cluster's folder with the shared settings and Flink's logging configuration."""
    layout = ClusterLayout(root.resolve())
    for directory in (layout.conf_dir, layout.log_dir, layout.pid_dir, layout.checkpoints, layout.savepoints):
        directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHARED_CONFIG, layout.conf_dir / "config.yaml")
    for name in _LOGGING_FILES:
        source = FLINK_HOME / "conf" / name
        if source.is_file():
            shutil.copyfile(source, layout.conf_dir / name)
    return layout


def _options(settings: dict[str, str | int]) -> list[str]:
    return [part for key, value in settings.items() for part in ("-D", f"{key}={value}")]


def _storage(layout: ClusterLayout) -> dict[str, str | int]:
    return {"execution.checkpointing.dir": layout.checkpoints.as_uri(),
            "execution.checkpointing.savepoint-dir": layout.savepoints.as_uri()}


def jobmanager_options(layout: ClusterLayout, rest_port: int, rpc_port: int, host: str = LOOPBACK,
                       prometheus_port: int | None = None, memory: str = "1024m") -> list[str]:
    settings: dict[str, str | int] = {
        "jobmanager.rpc.address": host, "jobmanager.rpc.port": rpc_port, "jobmanager.bind-host": host,
        "rest.address": host, "rest.bind-address": host, "rest.port": rest_port,
        "jobmanager.memory.process.size": memory, **_storage(layout)}
    if prometheus_port is not None:
        settings["metrics.reporter.prom.port"] = prometheus_port
    return _options(settings)


def taskmanager_options(layout: ClusterLayout, rpc_port: int, resource_id: str, host: str = LOOPBACK,
                        slots: int = 2, prometheus_port: int | None = None, memory: str = "1728m") -> list[str]:
    settings: dict[str, str | int] = {
        "jobmanager.rpc.address": host, "jobmanager.rpc.port": rpc_port, "taskmanager.host": host,
        "taskmanager.bind-host": host, "taskmanager.resource-id": resource_id,
        "taskmanager.numberOfTaskSlots": slots, "taskmanager.memory.process.size": memory, **_storage(layout)}
    if prometheus_port is not None:
        settings["metrics.reporter.prom.port"] = prometheus_port
    return _options(settings)


def script(role: str) -> Path:
    """``jobmanager.sh`` or ``taskmanager.sh`` of the wheel's distribution."""
    path = FLINK_HOME / "bin" / f"{role}.sh"
    if not path.is_file():
        raise DependencyError(f"{path} is missing: is apache-flink installed in this environment?")
    return path


def flink_python_jar() -> Path:
    """flink-python, which a cluster needs to run Python operators; it ships with each submitted job."""
    jars = sorted((FLINK_HOME / "opt").glob("flink-python-*.jar"))
    if not jars:
        raise DependencyError(f"no flink-python jar in {FLINK_HOME / 'opt'}: is apache-flink installed?")
    return jars[-1]


def start_daemons(root: Path, taskmanagers: int, rest_port: int, rpc_port: int, slots: int = 2) -> ClusterLayout:
    """Start a JobManager and ``taskmanagers`` TaskManagers in the background (Flink's ``start`` mode)."""
    layout = prepare_layout(root)
    env = layout.environment()
    subprocess.run([str(script("jobmanager")), "start", *jobmanager_options(layout, rest_port, rpc_port)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    for number in range(1, taskmanagers + 1):
        options = taskmanager_options(layout, rpc_port, f"taskmanager-{number}", slots=slots)
        subprocess.run([str(script("taskmanager")), "start", *options], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return layout


def stop_daemons(root: Path) -> None:
    """Stop every TaskManager and the JobManager that ``start_daemons`` started in ``root``."""
    layout = ClusterLayout(root.resolve())
    env = layout.environment()
    for role in ("taskmanager", "jobmanager"):
        subprocess.run([str(script(role)), "stop-all"], env=env, check=True, stdout=subprocess.DEVNULL)
