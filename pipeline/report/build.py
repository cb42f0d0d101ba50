"""``botes report``: read enriched NDJSON once, aggregate, write one self-contained HTML page."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.report.aggregate import Aggregate, Limits
from pipeline.report.panels import panels
from pipeline.report.reader import BadLine, read_events
from pipeline.report.render import render_html

__all__ = ["ReportError", "ReportOutcome", "write_report"]

_BAD_LINES_KEPT = 10  # the first bad lines are named in the outcome and the page; the rest only counted


class ReportError(PipelineError):
    """The input cannot be read, or holds no event to report on."""


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    events: int
    bad_lines: int
    first_bad: list[BadLine] = field(default_factory=list)
    written: Path | None = None     # None when nothing was written (no readable event)
    size: int = 0                   # bytes


def _aggregate(source: Path, limits: Limits | None) -> tuple[Aggregate, int, list[BadLine]]:
    aggregate = Aggregate(limits)
    bad, first_bad = 0, list[BadLine]()
    try:
        for item in read_events(source):
            if isinstance(item, BadLine):
                bad += 1
                if len(first_bad) < _BAD_LINES_KEPT:
                    first_bad.append(item)
            else:
                aggregate.add(item)
    except (OSError, EOFError) as exc:  # unreadable, a directory, a truncated or fake .gz
        raise ReportError(f"{source}: cannot read it ({exc})") from exc
    return aggregate, bad, first_bad


def _write_atomically(target: Path, text: str) -> int:
    """Write beside the target, then rename: a failed run leaves no half-written report. The file gets the
    permissions any new file gets (the umask's), not mkstemp's owner-only ones: a report is made to be shared."""
    target.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return len(data)


def write_report(source: Path, target: Path, title: str | None = None, limits: Limits | None = None
                 ) -> ReportOutcome:
    """Aggregate the enriched events in ``source`` and write the report to ``target``.

    Raises ``ReportError`` when ``source`` is missing, unreadable or empty. When no line is an event, nothing
    is written and the outcome says why (``written`` is None); lines that are not events are counted and
    the first ones named, and the report is written from the others.
    """
    if not source.exists():
        raise ReportError(f"{source}: no such file")
    if source.is_dir():
        raise ReportError(f"{source}: a directory; give the enriched NDJSON file (botes run --output FILE)")
    aggregate, bad, first_bad = _aggregate(source, limits)
    if aggregate.events == 0 and bad == 0:
        raise ReportError(f"{source}: no events in it (empty file): nothing to report")
    if aggregate.events == 0:
        return ReportOutcome(0, bad, first_bad)
    html = render_html(panels(aggregate), title or f"BOTES investigation report: {source.name}", str(source),
                       bad, [f"line {b.number}: {b.reason}" for b in first_bad[:3]])
    try:
        size = _write_atomically(target, html)
    except OSError as exc:
        raise ReportError(f"{target}: cannot write the report ({exc})") from exc
    return ReportOutcome(aggregate.events, bad, first_bad, target, size)
