"""FortiGate syslog lines (``key=value key="quoted value" ...``) as flat records.

FortiOS writes each log as space-separated ``key=value`` pairs. Values with spaces or special
characters are double-quoted, and a double quote inside a quoted value is escaped with a backslash
(``reason="Server replied \\"non-existing domain\\""``). Syslog adds a priority prefix (``<189>``)
and sometimes a header (``Mar  3 18:48:58 fw01``) before the first pair. Every value stays a string;
the field table gives it its type.
"""

from __future__ import annotations

import re

__all__ = ["parse_fortigate_kv"]

# A key starts the line or follows whitespace (after any syslog priority/header); its value is either a
# double-quoted string with backslash escapes or everything up to the next whitespace (maybe nothing).
_PAIR = re.compile(r'(?:^|(?<=\s))([A-Za-z0-9_][\w.-]*)=(?:"((?:[^"\\]|\\.)*)"|(\S*))')
_PRIORITY = re.compile(r"^\s*<\d{1,3}>")
_ESCAPE = re.compile(r"\\(.)")


def parse_fortigate_kv(line: str) -> dict[str, str]:
    """The ``key=value`` pairs of one FortiGate log line, in order; {} if it has none.

    Quotes around values are removed and ``\\"``/``\\\\`` inside them undone. A key that occurs twice
    keeps its last value (FortiOS repeats ``tz`` in some forwarded logs: ``tz="UTC-5" ... tz="-0500"``).
    """
    body = _PRIORITY.sub("", line.rstrip("\r\n"), count=1)
    record: dict[str, str] = {}
    for match in _PAIR.finditer(body):
        key, quoted, bare = match.groups()
        record[key] = _ESCAPE.sub(r"\1", quoted) if quoted is not None else bare
    return record
