"""The peer: syslog-ng (Debian's packages) doing the same job on the same input, measured the same way.

The job: parse each JSON line, look the public source and destination addresses up in the same MaxMind
City and ASN databases (``geoip2`` parser), look the internal ones up in the same assets table
(``add-contextual-data``), write JSON lines. syslog-ng reads the concatenated input files from a pipe on
stdin (it exits at the end of the pipe) and writes one output file.

Each source type names its addresses differently (FortiGate ``srcip``, Suricata and Stream ``src_ip``, Sysmon
``SourceIp``); a record has only one of them, so the template ``${.json.srcip}${.json.src_ip}${.json.SourceIp}``
is its source address. "Public" is decided with a regular expression over the private, shared, link-local
and unique-local ranges, which is how a syslog-ng configuration decides it.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from machine import Measured, run_measured

__all__ = ["PEER_PACKAGES", "ensure_syslog_ng", "run_syslog_ng", "PeerRun"]

PEER_PACKAGES = ("syslog-ng-core", "syslog-ng-mod-geoip2", "syslog-ng-mod-add-contextual-data")
_SIDES = {"source": "${.json.srcip}${.json.src_ip}${.json.SourceIp}",
          "destination": "${.json.dstip}${.json.dest_ip}${.json.DestinationIp}"}
_JSON_OUT = "$(format-json --scope none --key .json.* --key .geo.* --key .as.* --key .asset.*)"
_NOT_PUBLIC = (r"^(10\.|127\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\."
               r"|169\.254\.|f[cd]|fe[89ab]|::1$|$)")


def ensure_syslog_ng() -> str | None:
    """The syslog-ng binary, apt-installing Debian's packages when missing; None if that cannot be done."""
    if shutil.which("syslog-ng") and Path("/usr/lib/syslog-ng").exists() and _has_modules():
        return shutil.which("syslog-ng")
    if shutil.which("apt-get") is None:
        return None
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *PEER_PACKAGES]):
        if subprocess.run(command, env=env, capture_output=True, check=False).returncode != 0:
            return None
    return shutil.which("syslog-ng")


def _has_modules() -> bool:
    modules = subprocess.run(["syslog-ng", "--version"], capture_output=True, text=True, check=False).stdout
    return all(name in modules for name in ("geoip2-plugin", "add-contextual-data", "json-plugin"))


def write_context_csv(assets_csv: Path, out: Path) -> int:
    """The assets table as add-contextual-data wants it: selector,name,value per field, sorted by selector."""
    rows: list[tuple[str, str, str]] = []
    with assets_csv.open(encoding="utf-8", newline="") as f:
        lines = [line for line in f if line.strip() and not line.startswith("#")]
    for row in csv.DictReader(lines):
        for name in ("hostname", "owner", "os", "location", "criticality", "roles"):
            if row.get(name):
                rows.append((row["network"], name, row[name]))
    rows.sort()
    with out.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return len(rows)


def _config(city: Path, asn: Path, context: Path, output: Path) -> str:
    sides = []
    for side, template in _SIDES.items():
        sides.append(f"""
  if (not match('{_NOT_PUBLIC}' template("{template}") type(pcre) flags(ignore-case))) {{
    parser {{ geoip2("{template}" prefix(".geo.{side}.") database("{city}")); }};
    parser {{ geoip2("{template}" prefix(".as.{side}.") database("{asn}")); }};
  }} else {{
    parser {{ add-contextual-data(selector("{template}") database("{context}") prefix(".asset.{side}.")); }};
  }};""")
    return f"""@version: 3.38
options {{ stats_freq(0); log-msg-size(1048576); }};
source s_in {{ stdin(flags(no-parse) log-msg-size(1048576)); }};
destination d_out {{ file("{output}" template("{_JSON_OUT}\\n")); }};
log {{
  source(s_in);
  parser {{ json-parser(prefix(".json.")); }};{''.join(sides)}
  destination(d_out);
}};
"""


@dataclass(slots=True)
class PeerRun:
    measured: Measured
    events_out: int

    @property
    def cpu_seconds(self) -> float:
        """syslog-ng's CPU time (and cat's, a few ms): every process of the run is reaped, so this is exact."""
        return self.measured.reaped_cpu_seconds


def run_syslog_ng(binary: str, inputs: Sequence[Path], city: Path, asn: Path, assets_csv: Path,
                  work: Path) -> PeerRun:
    work.mkdir(parents=True, exist_ok=True)
    context = work / "assets-context.csv"
    write_context_csv(assets_csv, context)
    output = work / "out.ndjson"
    output.unlink(missing_ok=True)
    config = work / "syslog-ng.conf"
    config.write_text(_config(city.resolve(), asn.resolve(), context, output))
    state = [f"--persist-file={work / 'persist'}", f"--pidfile={work / 'pid'}", f"--control={work / 'ctl'}"]
    files = " ".join(f"'{p}'" for p in inputs)
    measured = run_measured(["sh", "-c", f"cat {files} | '{binary}' -F --no-caps -f '{config}' "
                             + " ".join(state)]).check()
    with output.open("rb") as f:
        events_out = sum(1 for _ in f)
    return PeerRun(measured, events_out)
