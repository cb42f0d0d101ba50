"""Where the Python worker's time goes: py-spy samples of the Flink Python worker during a run, summarised.

``profile_worker(pid)`` samples, with py-spy (if installed), the Python client process ``pid`` of a MiniCluster
run (in PyFlink's default loopback mode the Python workers are its threads) and every Python worker process
(``pyflink...beam_boot``) that appears under it, until the run ends. ``summarise`` splits the samples into the
stages of the pipeline by the innermost frame of this project's code on the stack, and lists the functions with
the most own time.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from machine import ProcessTree

__all__ = ["Profile", "profile_worker", "summarise"]

# Innermost project module on the stack -> stage.
_STAGES = (("pipeline/normalize/", "normalise"), ("pipeline/enrich/", "enrich: sources and chain"),
           ("pipeline/cache/", "enrich: cache"), ("pipeline/events.py", "event paths (events.py)"),
           ("pipeline/flink/", "operator code (pipeline/flink)"), ("pipeline/index/", "index writer"))


@dataclass(slots=True)
class Profile:
    samples: int = 0
    stages: Counter[str] = field(default_factory=Counter)
    own: Counter[str] = field(default_factory=Counter)  # "function (file)" -> samples at the top of the stack
    note: str = ""

    def share(self, counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, count / self.samples) for name, count in counter.most_common()] if self.samples else []


def _workers(root: int) -> list[int]:
    tree = ProcessTree(root)
    tree.sample()
    return [pid for pid, kind in tree.kinds.items() if kind == "python" and b"beam_boot" in _command(pid)]


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def profile_worker(root: int, out: Path, seconds: float = 600.0, rate: int = 50) -> Profile:
    """Samples every Flink Python worker that appears under ``root`` until ``root`` exits. A batch job runs
    its stages one after another, each in a Python worker of its own."""
    spy = shutil.which("py-spy") or str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "py-spy")
    if not Path(spy).exists():
        return Profile(note="py-spy is not installed (pip install -e '.[bench]')")
    spies: dict[int, subprocess.Popen[bytes]] = {}
    deadline = time.monotonic() + seconds
    while _alive(root) and time.monotonic() < deadline:
        # In loopback mode (PyFlink's default on a MiniCluster) the workers are threads of the client
        # process itself; in process mode they are beam_boot processes under the JVM.
        for pid in [root, *_workers(root)]:
            if pid not in spies:
                spies[pid] = subprocess.Popen(
                    [spy, "record", "-p", str(pid), "-o", str(out.with_suffix(f".{pid}.txt")), "-f", "raw",
                     "-r", str(rate), "-d", str(int(seconds)), "--nonblocking", "--gil", "--full-filenames",
                     "--nolineno"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.2)
    lines: list[str] = []
    for pid, process in spies.items():
        process.wait()
        raw = out.with_suffix(f".{pid}.txt")
        if raw.exists():
            lines.extend(raw.read_text().splitlines())
    profile = summarise(lines)
    profile.note = f"{len(spies)} Python process(es) sampled at {rate} Hz, samples of the thread holding the GIL"
    return profile


def _stage(frames: list[str]) -> str:
    if any("importlib._bootstrap" in frame for frame in frames):
        return "start-up (imports)"
    for frame in reversed(frames):
        for marker, stage in _STAGES:
            if marker in frame:
                return stage
    joined = ";".join(frames)
    if "/json/" in joined or "orjson" in joined:
        return "JSON (outside pipeline code)"
    if "asyncio" in joined or "async_function" in joined:
        return "async operator and event loop (PyFlink)"
    if "pyflink" in joined or "apache_beam" in joined or "grpc" in joined:
        return "Flink/Beam runtime (serialisation, data channel)"
    return "other"


def _short(frame: str) -> str:
    """``func (/long/path/site-packages/pkg/mod.py)`` -> ``func (pkg/mod.py)``."""
    name, _, path = frame.partition(" (")
    path = path.rstrip(")")
    for marker in ("site-packages/", "/lib/python3.11/", "/wt-perf/", "/work/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarise(lines: list[str]) -> Profile:
    profile = Profile()
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f and not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        profile.samples += count
        profile.stages[_stage(frames)] += count
        profile.own[_short(frames[-1])] += count
    return profile
