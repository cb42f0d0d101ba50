"""bench/RESULTS.md: the machine, the input, every target with its baseline and ratio, and the details."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kafka_path import JobRun
from machine import Measured
from worker_profile import Profile

__all__ = ["Figure", "Report", "write_results", "save_figures"]

NOTES = Path(__file__).resolve().parent / "NOTES.md"


@dataclass(slots=True)
class Figure:
    target: str
    measured: str
    baseline: str
    ratio: float | None
    goal: float | None          # the ratio to reach (at least, or at most when lower_is_better)
    note: str = ""
    lower_is_better: bool = False
    goal_text: str | None = None
    met: bool | None = None     # given when the figure is not a ratio against a goal

    def outcome(self) -> bool | None:
        if self.met is not None:
            return self.met
        if self.goal is None or self.ratio is None:
            return None
        return self.ratio <= self.goal if self.lower_is_better else self.ratio >= self.goal

    def goal_label(self) -> str:
        if self.goal_text is not None:
            return self.goal_text
        if self.goal is None:
            return "-"
        return f"≤ {self.goal:.2f}" if self.lower_is_better else f"≥ {self.goal:.2f}"


@dataclass(slots=True)
class Report:
    machine: dict[str, str]
    started: datetime
    quick: bool
    sizes: dict[str, int]
    seconds: float = 0.0
    input: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    runs: dict[str, list[Measured]] = field(default_factory=dict)
    kafka: dict[str, float] = field(default_factory=dict)
    kafka_runs: dict[str, JobRun] = field(default_factory=dict)
    cold: dict[str, Any] = field(default_factory=dict)
    ttl: dict[str, Any] = field(default_factory=dict)
    inproc: dict[str, float] = field(default_factory=dict)
    peer: Any = None
    profile: Profile | None = None
    servers: str = ""
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return [*lines, ""]


def _mark(outcome: bool | None) -> str:
    return {True: "**met**", False: "**MISSED**", None: "-"}[outcome]


def _targets(report: Report) -> list[str]:
    rows = [[f.target, f.measured, f.baseline, f"{f.ratio:.2f}" if f.ratio is not None else "-", f.goal_label(),
             _mark(f.outcome()), f.note] for f in report.figures]
    lines = ["## Targets", ""]
    lines += _table(["target", "measured", "baseline (same run)", "ratio", "goal", "", "how"], rows)
    missed = [f.target for f in report.figures if f.outcome() is False]
    if missed:
        lines += ["Missed: " + "; ".join(missed) + ". Where the time goes is under *Profile*; what was tried "
                  "and what bounds each one is under *What was tried*.", ""]
    elif report.figures:
        lines += ["Every target with a goal was met.", ""]
    return lines


def _runs(report: Report) -> list[str]:
    rows = []
    events = report.sizes.get("events", 0)
    for name, runs in report.runs.items():
        for n, run in enumerate(runs, start=1):
            count = events * (report.sizes.get("big_factor", 1) if "x input" in name else 1)
            rows.append([name, str(n), f"{run.seconds:.1f}", f"{count / run.seconds:,.0f}",
                         f"{run.cpu_seconds:.1f}", f"{run.rss_mb('jvm'):,.0f}", f"{run.rss_mb('python'):,.0f}",
                         str(run.tree.processes.get("python", 0))])
    return ["### Flink runs (embedded and pass-through)", "",
            *_table(["run", "#", "wall s", "events/s", "CPU s (all processes)", "peak RSS JVM MB",
                     "peak RSS Python MB", "Python processes"], rows)]


def _kafka(report: Report) -> list[str]:
    if not report.kafka and not report.kafka_runs:
        return []
    lines = ["### Kafka path", "", f"Servers: {report.servers}", ""]
    for name, rate in report.kafka.items():
        lines.append(f"- {name}: {rate:,.0f} events/s")
    lines.append("")
    rows = [[name, f"{run.events:,}", f"{run.seconds:.1f}", f"{run.first_doc:.1f}", f"{run.events_per_second:,.0f}",
             f"{run.sustained:,.0f}", f"{run.tree.cpu_seconds():.1f}",
             f"{run.tree.peak_rss.get('jvm', 0) / 2**20:,.0f}", f"{run.tree.peak_rss.get('python', 0) / 2**20:,.0f}"]
            for name, run in report.kafka_runs.items()]
    return [*lines, *_table(["job", "events", "s to all indexed", "s to first document", "events/s incl. start",
                             "sustained events/s", "CPU s", "peak RSS JVM MB", "peak RSS Python MB"], rows)]


def _cold(report: Report) -> list[str]:
    if not report.cold:
        return []
    seed = report.cold["seed"]
    return ["### Cold cache: this pipeline vs the seed design", "",
            f"- seed design (bench/seed.py: 4 slots of blocking lookups, Redis check-then-set without TTL, "
            f"index refresh per document): {seed.events:,} events in {seed.seconds:.1f} s = "
            f"{seed.events / seed.seconds:,.1f} events/s; {seed.lookups:,} lookups, {seed.misses:,} misses; "
            f"{report.cold['seed calls']:,} API calls for {report.cold['seed keys']:,} keys",
            f"- this pipeline: {report.cold['ours calls']:,} API calls for {report.cold['ours keys']:,} keys", ""]


def _inproc(report: Report) -> list[str]:
    if not report.inproc:
        return []
    events = int(report.inproc["events"])
    base = report.inproc["json.loads + json.dumps of the line (baseline)"]
    rows = [[name, f"{micros:.1f}", f"{micros / base:.1f}"] for name, micros in report.inproc.items()
            if name != "events"]
    return [f"### In-process cost per event (one core, no Flink, {events:,} events of the mix)", "",
            *_table(["stage", "CPU µs per event", "x the baseline"], rows)]


def _profile(report: Report) -> list[str]:
    profile = report.profile
    if profile is None:
        return []
    lines = ["## Profile: where the Python worker's time goes (embedded run, p=1)", "", profile.note, ""]
    if not profile.samples:
        return lines
    lines += _table(["stage (innermost project frame on the stack)", "share of samples"],
                    [[name, f"{share:.1%}"] for name, share in profile.share(profile.stages)])
    lines += _table(["function (own time)", "share of samples"],
                    [[f"`{name}`", f"{share:.1%}"] for name, share in profile.share(profile.own)[:20]])
    return lines


def save_figures(report: Report, path: Path) -> None:
    """The targets and the raw figures as JSON, beside RESULTS.md."""
    data = {"started": report.started.isoformat(), "seconds": report.seconds, "quick": report.quick,
            "machine": report.machine, "sizes": report.sizes, "input": report.input, "errors": report.errors,
            "targets": [{"target": f.target, "measured": f.measured, "baseline": f.baseline, "ratio": f.ratio,
                         "goal": f.goal_label(), "met": f.outcome(), "how": f.note} for f in report.figures],
            "runs": {name: [{"seconds": r.seconds, "cpu_seconds": r.cpu_seconds, "peak_rss_mb":
                             {k: v / 2**20 for k, v in r.tree.peak_rss.items()}} for r in runs]
                     for name, runs in report.runs.items()},
            "kafka": report.kafka,
            "kafka_runs": {name: {"events": r.events, "seconds": r.seconds, "first_doc": r.first_doc,
                                  "sustained": r.sustained, "cpu_seconds": r.tree.cpu_seconds()}
                           for name, r in report.kafka_runs.items()},
            "inproc_us": report.inproc, "ttl": report.ttl, "steps": report.step_seconds}
    path.write_text(json.dumps(data, indent=1, default=str))


def write_results(report: Report, path: Path) -> None:
    lines = ["# Benchmark results", ""]
    if report.quick:
        lines += ["**Quick run (`--quick`): tiny counts that only check the harness works. These figures mean "
                  "nothing.**", ""]
    lines += [f"Produced by `bash bench/run.sh` (`.venv/bin/python bench/run.py`) on "
              f"{report.started:%Y-%m-%d %H:%M} UTC in {report.seconds / 60:.1f} minutes. Every ratio compares two "
              "measurements made in this run, on the same input; the machine is shared, so wall times move with "
              "its load (see the load averages) and the ratios much less.", ""]
    lines += ["## Machine", "", *_table(["", ""], [[k, v] for k, v in report.machine.items()])]
    if report.input:
        per_type = ", ".join(f"{name} {count:,}" for name, count in report.input["per type"].items())
        lines += ["## Input", "",
                  f"{report.input['events']:,} SYNTHETIC events (bench/mix.py): {per_type}; firewall, IDS, DNS and "
                  "Sysmon; public and internal addresses, IPv4 and IPv6. Addresses come from a pool of 10,000 "
                  f"({report.input['public addresses in the pool']:,} public, "
                  f"{report.input['internal addresses in the pool']:,} internal) where 10 % of them make 80 % of "
                  "the draws, the skew of Apache Metron's published enrichment benchmark "
                  "([Performance.md, Benchmark Results](https://metron.apache.org/current-book/metron-platform/"
                  "metron-enrichment/Performance.html): \"10,000 unique IP addresses ... 10% of these IPs were "
                  "chosen 80% of the time\"). Hashes and DNS names follow the same rule. Assets table: "
                  f"{report.input['assets rows']:,} internal addresses. Sizes: "
                  + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in report.sizes.items())
                  + ".", ""]
    lines += _targets(report)
    if report.errors:
        lines += ["## Errors", "", *[f"- {e}" for e in report.errors], ""]
    lines += _profile(report)
    if NOTES.exists():
        lines += [NOTES.read_text().rstrip(), ""]
    lines += ["## Details", ""]
    lines += _inproc(report) + _runs(report) + _kafka(report) + _cold(report)
    if report.peer is not None:
        peer = report.peer
        lines += ["### Peer: syslog-ng", "",
                  f"{peer.events_out:,} events in {peer.measured.seconds:.1f} s wall, {peer.cpu_seconds:.1f} CPU s, "
                  f"peak RSS {peer.measured.tree.peak_rss.get('syslog-ng', 0) / 2**20:,.0f} MB "
                  "(config: bench/peer.py)", ""]
    if report.ttl:
        lines += ["### API calls per key per TTL", "",
                  f"{report.ttl['lookups']:,} lookups of {report.ttl['keys']} keys in each of two TTL periods "
                  f"({report.ttl['ttl']} s), from two processes: provider calls after each period "
                  f"{report.ttl['rounds']}", ""]
    for note in report.notes:
        lines.append(f"- {note}")
    lines += ["", "Time per step: " + ", ".join(f"{k} {v:.0f} s" for k, v in report.step_seconds.items()), ""]
    path.write_text("\n".join(lines))
