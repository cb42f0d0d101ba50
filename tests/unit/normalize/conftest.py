"""Fixtures of the normaliser tests: the committed Logstash pipelines, parsed once per run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.normalize.logstash_grammar import Config, parse_config

LOGSTASH_PIPELINES = Path(__file__).resolve().parents[3] / "logstash" / "pipeline"


@pytest.fixture(scope="session")
def logstash_configs() -> dict[str, Config]:
    """logstash/pipeline/<name>.conf, parsed (a few seconds: the files are large)."""
    return {path.stem: parse_config(path.read_text(encoding="utf-8"))
            for path in sorted(LOGSTASH_PIPELINES.glob("*.conf"))}
