"""Writes logstash/: one Logstash pipeline per source type, generated from the normaliser's field tables.

Run it after changing a BOTES map, pipeline/data/field_overrides.csv or a source type; the unit test
tests/unit/normalize/test_logstash.py fails until the committed files match what the tables generate.

    python scripts/generate_logstash.py [--out logstash] [--topic-prefix botes.] [--kafka-bootstrap ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.normalize.logstash import DEFAULT_KAFKA_BOOTSTRAP, DEFAULT_TOPIC_PREFIX, generate_pipelines

OUT = Path(__file__).resolve().parent.parent / "logstash"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT, help=f"directory to write (default {OUT})")
    parser.add_argument("--topic-prefix", default=DEFAULT_TOPIC_PREFIX, help="Kafka topic = prefix + family")
    parser.add_argument("--kafka-bootstrap", default=DEFAULT_KAFKA_BOOTSTRAP,
                        help="bootstrap_servers of the kafka outputs (Logstash ${VAR:default} allowed)")
    args = parser.parse_args()
    for path in generate_pipelines(args.out, args.topic_prefix, args.kafka_bootstrap):
        print(path)


if __name__ == "__main__":
    main()
