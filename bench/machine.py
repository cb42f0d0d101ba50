"""What the benchmark ran on, and what a command cost: wall time, CPU time and peak memory of its process tree.

``run_measured`` starts a command and samples ``/proc`` every quarter second for the command and every
process under it: resident memory (peak of the sum per kind: the JVM, the Python processes) and CPU time
(user + system, the last value seen per process). A Flink MiniCluster is a Python client that starts a
JVM, which starts the Python workers; all three kinds show up. Processes that live shorter than one
sampling interval are missed, which only matters for commands that are not long-running.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Measured", "run_measured", "describe_machine", "ProcessTree", "CLOCK_TICKS", "page_size"]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    """Children of every thread of ``pid`` (a JVM starts processes from many threads)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _kind(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return "other"
    name = Path(command).name
    if name == "java":
        return "jvm"
    if name.startswith("python"):
        return "python"
    return name or "other"


def _stat(pid: int) -> tuple[float, int] | None:
    """(CPU seconds, resident bytes) of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return cpu, int(fields[21]) * page_size()


@dataclass(slots=True)
class ProcessTree:
    """Samples of a process and everything under it."""

    root: int
    cpu: dict[int, float] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)   # kind -> peak of the summed RSS
    peak_single: dict[str, int] = field(default_factory=dict)  # kind -> largest single process
    processes: dict[str, int] = field(default_factory=dict)  # kind -> most processes seen at once

    def sample(self) -> None:
        pids, stack = [], [self.root]
        while stack:
            pid = stack.pop()
            pids.append(pid)
            stack.extend(_children(pid))
        totals: dict[str, int] = {}
        counts: dict[str, int] = {}
        for pid in pids:
            stat = _stat(pid)
            if stat is None:
                continue
            kind = self.kinds[pid] = _kind(pid)  # again each time: a fork becomes its exec'd program
            self.cpu[pid] = stat[0]
            totals[kind] = totals.get(kind, 0) + stat[1]
            counts[kind] = counts.get(kind, 0) + 1
            self.peak_single[kind] = max(self.peak_single.get(kind, 0), stat[1])
        for kind, total in totals.items():
            self.peak_rss[kind] = max(self.peak_rss.get(kind, 0), total)
            self.processes[kind] = max(self.processes.get(kind, 0), counts[kind])

    def cpu_seconds(self, kind: str | None = None) -> float:
        return sum(seconds for pid, seconds in self.cpu.items() if kind is None or self.kinds.get(pid) == kind)


@dataclass(slots=True)
class Measured:
    command: list[str]
    seconds: float
    returncode: int
    tree: ProcessTree
    stdout: str = ""
    stderr: str = ""
    # CPU time of the processes of the tree that were reaped (exact, unlike sampling, but it misses processes
    # nobody waited for, such as a JVM the Python client leaves to die with it)
    reaped_cpu_seconds: float = 0.0

    @property
    def cpu_seconds(self) -> float:
        return self.tree.cpu_seconds()

    def rss_mb(self, kind: str) -> float:
        return self.tree.peak_rss.get(kind, 0) / 2**20

    def check(self) -> Measured:
        if self.returncode != 0:
            raise RuntimeError(f"{' '.join(self.command)} exited {self.returncode}:\n{self.stderr[-4000:]}")
        return self


def run_measured(command: Sequence[str], env: Mapping[str, str] | None = None, interval: float = 0.25,
                 cwd: Path | None = None, stdin: Path | None = None, timeout: float = 1800,
                 watch: Callable[[int], object] | None = None) -> Measured:
    """Runs ``command`` to its end, sampling its process tree; output is captured. ``watch(pid)`` runs in a
    thread beside it (e.g. a profiler), and is waited for."""
    started = time.monotonic()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with (stdin.open("rb") if stdin else open(os.devnull, "rb")) as given:
        process = subprocess.Popen(list(command), env=dict(env) if env is not None else None, cwd=cwd,
                                   stdin=given, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
        tree = ProcessTree(process.pid)
        out: list[bytes] = []
        err: list[bytes] = []
        readers = [threading.Thread(target=lambda s, b: b.append(s.read()), args=(stream, buffer), daemon=True)
                   for stream, buffer in ((process.stdout, out), (process.stderr, err))]
        if watch is not None:
            readers.append(threading.Thread(target=watch, args=(process.pid,), daemon=True))
        for reader in readers:
            reader.start()
        while process.poll() is None:
            tree.sample()
            if time.monotonic() - started > timeout:
                process.kill()
                break
            time.sleep(interval)
        process.wait()
        for reader in readers:
            reader.join()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = (children_after.ru_utime - children_before.ru_utime) + (children_after.ru_stime - children_before.ru_stime)
    return Measured(list(command), time.monotonic() - started, process.returncode, tree,
                    b"".join(out).decode(errors="replace"), b"".join(err).decode(errors="replace"), reaped)


def _first_line(command: Sequence[str]) -> str:
    if shutil.which(command[0]) is None:
        return "not installed"
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (result.stdout or result.stderr).strip()
    return text.splitlines()[0] if text else "?"


def _cpu_model() -> str:
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    except OSError:
        return "?"
    return match.group(1).strip() if match else "?"


def _memory_gb() -> float:
    try:
        match = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    except OSError:
        return 0.0
    return int(match.group(1)) / 2**20 if match else 0.0


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def describe_machine(tools: Mapping[str, str] | None = None) -> dict[str, str]:
    """Cores, memory, load and the versions of everything measured."""
    debian = Path("/etc/debian_version")
    facts = {
        "CPU": f"{os.cpu_count()} cores, {_cpu_model()}",
        "memory": f"{_memory_gb():.1f} GiB",
        "load average (1/5/15 min) at start": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "OS": f"{platform.system()} {platform.release()}"
              + (f", Debian {debian.read_text().strip()}" if debian.exists() else ""),
        "Python": sys.version.split()[0],
        "Java": _first_line(["java", "-version"]),
        "apache-flink": _package_version("apache-flink"),
        "maxminddb": _package_version("maxminddb"),
        "geoip2": _package_version("geoip2"),
        "syslog-ng": _first_line(["syslog-ng", "--version"]),
    }
    facts.update(tools or {})
    return facts
