"""What a generated Logstash pipeline hands to the enrichment job, and the rules both sides share.

Every event a pipeline of ``logstash/`` sends carries a marker object, ``botes.logstash``:

- ``read``: ``record`` when the pipeline read the line (JSON, or a FortiGate ``key=value`` line) and
  applied the field table; ``line`` when it could not read it and left the whole line to the job;
- ``deferred``: the original fields whose value the pipeline could not convert exactly as the normaliser
  does (the job converts them);
- ``timezone``: the zone the pipeline read naive times in;
- ``location``: the file the line came from.

The job's completion step (:mod:`pipeline.normalize.complete`) removes the marker. The generator
(:mod:`pipeline.normalize.logstash`) and the completion agree here on which spellings of an original the
pipeline renames and in which order several originals of one ECS field are applied.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from pipeline.normalize.maps import FieldSpec, FieldTable
from pipeline.normalize.normalizer import find_spec, is_empty
from pipeline.normalize.sourcetype import SourceType

__all__ = ["MARKER", "READ", "READ_RECORD", "READ_LINE", "DEFERRED", "TIMEZONE", "LOCATION", "spellings",
           "precedence", "PrecedenceError", "REPRODUCED", "WINDOWS_HEX_IDS", "hook_name", "reproduced_keys"]

MARKER = "botes.logstash"
READ, DEFERRED, TIMEZONE, LOCATION = "read", "deferred", "timezone", "location"
READ_RECORD, READ_LINE = "record", "line"


class PrecedenceError(ValueError):
    """The normaliser ranks the originals of one ECS field inconsistently (a beats b beats c beats a)."""


def spellings(table: FieldTable, original: str) -> list[str]:
    """The record keys a pipeline renames for one row, in the order it applies them: the row's own
    spelling, then Splunk's other spelling of a multi-value field (``name`` for ``name{}`` and
    ``name{}`` for ``name``) when the record key finds this row in the normaliser (:func:`find_spec`)."""
    if original.endswith("{}") and original.count("{}") == 1:
        other = original[:-2]
    elif "{}" not in original:
        other = f"{original}{{}}"
    else:
        return [original]
    return [original, other] if find_spec(table, other) is table[original] else [original]


def _group_by_field(table: FieldTable) -> dict[str, list[FieldSpec]]:
    groups: dict[str, list[FieldSpec]] = {}
    for spec in table.values():
        groups.setdefault(spec.ecs, []).append(spec)
    return groups


def _winner(source: SourceType, table: FieldTable, keys: Iterable[str]) -> str | None:
    """Which of two originals fills their field when a record holds both, in this order: the last one
    left by ``source.prepare`` (placeholder values that a prepare hook would drop are avoided)."""
    probe = {key: f"botes precedence probe {index}" for index, key in enumerate(keys)}
    prepared = source.prepare(dict(probe))
    found = [spec.original for key, value in prepared.items()
             if not is_empty(value) and (spec := find_spec(table, key)) is not None and spec.original in probe]
    return found[-1] if found else None


def _beats(source: SourceType, table: FieldTable, a: str, b: str) -> bool | None:
    """True when ``a`` wins over ``b`` whatever their order in the record, False when ``b`` does, None
    when the record's order decides (the normaliser's rule: the last key of the record wins)."""
    first, second = _winner(source, table, (a, b)), _winner(source, table, (b, a))
    return first == a if first == second and first is not None else None


def precedence(source: SourceType, table: FieldTable) -> dict[str, int]:
    """Rank of each original among the originals that fill the same ECS field (0 = applied first, so the
    highest rank wins). A prepare hook that orders or drops keys decides (FortiGate's vendor action over
    Splunk's CIM action, the rendered ``Message`` over Splunk's ``message``); where the normaliser lets the
    record's key order decide, the table's order does (a later row wins)."""
    position = {original: index for index, original in enumerate(table)}
    ranks: dict[str, int] = {}
    for specs in _group_by_field(table).values():
        originals = [spec.original for spec in specs]
        decided = {(a, b): _beats(source, table, a, b) for a in originals for b in originals if a != b}

        def order(a: str, b: str, decided: dict[tuple[str, str], bool | None] = decided) -> int:
            verdict = decided[(a, b)]
            if verdict is None:
                return position[a] - position[b]
            return 1 if verdict else -1

        ranked = sorted(originals, key=functools.cmp_to_key(order))
        for low, high in ((a, b) for i, a in enumerate(ranked) for b in ranked[i + 1:]):
            if decided[(low, high)] is True:
                raise PrecedenceError(f"{source.name}: {low!r} and {high!r} ({table[low].ecs}) are ranked "
                                      "inconsistently by the normaliser's prepare hook")
        ranks.update((original, rank) for rank, original in enumerate(ranked))
    return ranks


# The parts of a prepare hook the pipelines reproduce, by the hook's qualified name: record keys whose
# prepared value a pipeline computes itself (or defers to the job). The job re-derives every other key
# a prepare hook changes from event.original.
_WINDOWS_HEX_IDS = ("New_Process_ID", "Creator_Process_ID", "Process_ID", "Exit_Status")  # as prepare_wineventlog
REPRODUCED: dict[str, frozenset[str]] = {
    "pipeline.normalize.fortigate.prepare_fortigate": frozenset({"date", "time", "tz"}),
    "pipeline.normalize.iis.prepare_iis": frozenset({"date", "time"}),
    "pipeline.normalize.windows.prepare_wineventlog": frozenset({"time", "_time", "message", *_WINDOWS_HEX_IDS}),
    "pipeline.normalize.windows.prepare_winregistry": frozenset({"time", "_time"}),
}
WINDOWS_HEX_IDS = frozenset(_WINDOWS_HEX_IDS)


def hook_name(hook: Callable[..., object]) -> str:
    """``module.qualname`` of a hook (a function, or an instance of a callable class)."""
    named = hook if hasattr(hook, "__qualname__") else type(hook)
    return f"{named.__module__}.{named.__qualname__}"


def reproduced_keys(source: SourceType) -> frozenset[str]:
    """The keys whose preparation the source's pipeline does itself."""
    return REPRODUCED.get(hook_name(source.prepare), frozenset())
