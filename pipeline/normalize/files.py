"""Finding BOTES files (``botesv1.<sourcetype>.json[.gz]``) and reading their lines."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ConfigError
from pipeline.normalize.sources import check_source_type

__all__ = ["BotesFile", "find_botes_files", "read_lines", "source_type_from_name"]

_NAME = re.compile(r"^botesv1\.(?P<type>.+?)\.json(?:\.gz)?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class BotesFile:
    path: Path
    source_type: str


def source_type_from_name(path: Path) -> str | None:
    match = _NAME.match(path.name)
    return match.group("type") if match else None


def find_botes_files(paths: Iterable[Path], source_type: str | None = None) -> list[BotesFile]:
    """The files to read: each file given, and every BOTES-named file in each directory given.

    ``source_type`` applies to all of them; without it the type comes from each file's name.
    """
    if source_type is not None:
        check_source_type(source_type)
    found: list[BotesFile] = []
    for path in paths:
        if path.is_dir():
            candidates = sorted(p for p in path.iterdir() if p.is_file() and _NAME.match(p.name))
            if not candidates:
                raise ConfigError(f"{path}: no botesv1.<sourcetype>.json[.gz] files in this directory")
        elif path.is_file():
            candidates = [path]
        else:
            raise ConfigError(f"{path}: no such file or directory")
        for candidate in candidates:
            kind = source_type or source_type_from_name(candidate)
            if kind is None:
                raise ConfigError(
                    f"{candidate}: cannot tell the source type from the name "
                    "(expected botesv1.<sourcetype>.json[.gz]); give --source-type"
                )
            found.append(BotesFile(candidate, kind))
    return found


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line without its newline), gzip-aware; blank lines are skipped."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            stripped = line.rstrip(b"\r\n")
            if stripped.strip():
                yield number, stripped
