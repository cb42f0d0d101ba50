"""A BOTES file with one line nested 1,000 deep between good lines: the poison pill every entry point
(`botes normalize`, `botes replay`, the embedded run, the Kafka job) must reject, losing no good line.

SYNTHETIC: made up for these tests, in BOTES suricata form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEEP_LINE", "DEEP_REASON", "DeepInput", "write_deep_input"]

# 1,000 levels: the object, then 999 arrays. Python's json module raises RecursionError on it.
DEEP_LINE = '{"event_type": "alert", "deep": ' + "[" * 999 + "]" * 999 + "}"
DEEP_REASON = "nested deeper than 100 levels"


def _good(n: int) -> str:
    return json.dumps({"timestamp": f"2016-08-10T21:00:0{n}.000000+0000", "event_type": "flow",
                       "src_ip": "192.168.250.20", "src_port": 50000 + n, "dest_ip": "81.2.69.160",
                       "dest_port": 443, "proto": "TCP"})


@dataclass(frozen=True)
class DeepInput:
    path: Path
    good: list[str]        # the good lines, in file order
    deep_line_number: int  # 1-based, counting the blank line before it


def write_deep_input(directory: Path) -> DeepInput:
    """botesv1.suricata.json: three good lines, a blank line, the deep line, three good lines."""
    before, after = [_good(n) for n in range(3)], [_good(n) for n in range(3, 6)]
    path = directory / "botesv1.suricata.json"
    path.write_text("\n".join([*before, "", DEEP_LINE, *after]) + "\n", encoding="utf-8")
    return DeepInput(path, before + after, deep_line_number=5)
