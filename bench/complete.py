"""What the job's completion of a Logstash event costs, against normalising the same line as `botes replay`
does, per source type, on one core.

    .venv/bin/python bench/complete.py [--events 5000]

Input: each source type's golden lines (tests/golden/<type>/input.jsonl, synthetic), run once through the
committed Logstash pipeline by the test interpreter (tests/unit/normalize/logstash_interpreter.py) to get
the messages Logstash sends, then repeated up to --events. Both sides are measured in the same run: the
completion on the messages (as the job receives them: JSON text), the normaliser on the lines. A ratio under
1 means completing costs less than normalising; the share of fields Logstash filled itself is printed too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.normalize import Normalizer  # noqa: E402
from pipeline.normalize.complete import Completion, LogstashCompletion  # noqa: E402
from pipeline.normalize.maps import map_names  # noqa: E402
from tests.unit.normalize.logstash_grammar import parse_config  # noqa: E402
from tests.unit.normalize.logstash_interpreter import Pipeline  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"


def _seconds(work: Callable[[str], object], items: list[str]) -> float:
    started = time.perf_counter()
    for item in items:
        work(item)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5_000)
    args = parser.parse_args()
    normalizer, completion = Normalizer(), LogstashCompletion()
    print(f"{args.events} events per source type, one process, one core")
    print(f"{'source type':<26}{'replay/s':>10}{'complete/s':>12}{'cost vs replay':>16}{'from Logstash':>15}")
    total_replay = total_complete = 0.0
    for source_type in map_names():
        golden = [line for line in (GOLDEN / source_type / "input.jsonl").read_text().splitlines() if line.strip()]
        pipeline = Pipeline(parse_config((ROOT / "logstash" / "pipeline" / f"{source_type}.conf").read_text()))
        messages = [json.dumps(pipeline.run_line(line, "/data/x")[0].document) for line in golden]
        taken = converted = 0
        for message in messages:
            result = completion.completion(json.loads(message))
            assert isinstance(result, Completion)
            taken, converted = taken + len(result.from_logstash), converted + len(result.converted_here)
        lines = list(itertools.islice(itertools.cycle(golden), args.events))
        sent = list(itertools.islice(itertools.cycle(messages), args.events))
        replayed = _seconds(lambda line, t=source_type: normalizer.normalize_line(line, t), lines)
        completed = _seconds(lambda message: completion.complete(json.loads(message)), sent)
        total_replay, total_complete = total_replay + replayed, total_complete + completed
        print(f"{source_type:<26}{len(lines) / replayed:>10.0f}{len(sent) / completed:>12.0f}"
              f"{completed / replayed:>15.2f}x{taken / (taken + converted):>14.0%}")
    print(f"{'all':<26}{'':>10}{'':>12}{total_complete / total_replay:>15.2f}x")


if __name__ == "__main__":
    main()
