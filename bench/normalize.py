"""Normalisation speed per source type, on one core, against json.loads of the same lines.

    .venv/bin/python bench/normalize.py [--events 20000]

Input: each source type's golden lines (tests/golden/<type>/input.jsonl, synthetic), repeated up to
--events lines. The baseline is parsing those lines with the standard library's json.loads, measured in
the same run: the ratio says how many times the cost of a bare JSON parse normalising costs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from pipeline.normalize import Normalizer
from pipeline.normalize.maps import map_names

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden"


def _lines(source_type: str, count: int) -> list[str]:
    # JSON records only: the fgt_* folders also hold raw syslog lines, which json.loads (the baseline) cannot read
    golden = [line for line in (GOLDEN / source_type / "input.jsonl").read_text().splitlines()
              if line.strip().startswith("{")]
    return list(itertools.islice(itertools.cycle(golden), count))


def _seconds(work: object, lines: list[str]) -> float:
    started = time.perf_counter()
    for line in lines:
        work(line)  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    normalizer = Normalizer()
    print(f"{args.events} events per source type, one process, one core")
    print(f"{'source type':<26}{'events/s':>10}{'json.loads/s':>14}{'cost vs json.loads':>20}")
    for source_type in map_names():
        if not (GOLDEN / source_type / "input.jsonl").is_file():
            print(f"{source_type:<26}{'(no golden input)':>20}")
            continue
        lines = _lines(source_type, args.events)
        baseline = _seconds(json.loads, lines)
        normalized = _seconds(lambda line, t=source_type: normalizer.normalize_line(line, t), lines)
        print(f"{source_type:<26}{len(lines) / normalized:>10.0f}{len(lines) / baseline:>14.0f}"
              f"{normalized / baseline:>19.1f}x")


if __name__ == "__main__":
    main()
