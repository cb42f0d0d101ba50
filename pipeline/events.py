"""Types every layer shares: the event itself, lookup targets and lookup outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "Target", "Found", "NotFound", "Failed", "Outcome", "Rejected"]

# An event stays in its wire form, ECS JSON as a dict, so the hot path never converts it twice.
Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Target:
    """One value of an event to look up, and the ECS field set it came from ("source", "destination")."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Found:
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NotFound:
    """A real answer ("no record"): cached under the source's negative TTL."""


@dataclass(frozen=True, slots=True)
class Failed:
    """The lookup could not be answered; never cached, the event goes on without the field."""

    reason: str
    retry_after: float | None = None


Outcome = Found | NotFound | Failed


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that cannot become an event, with why. It is reported, never silently dropped."""

    reason: str
    raw: str
    source_type: str | None = None
    location: str | None = None  # "file:line" where known
    extra: dict[str, Any] = field(default_factory=dict)

    def as_record(self, stage: str) -> dict[str, Any]:
        """The dead-letter form: what failed, where, and the original text."""
        record: dict[str, Any] = {"stage": stage, "reason": self.reason, "raw": self.raw}
        if self.source_type:
            record["source_type"] = self.source_type
        if self.location:
            record["location"] = self.location
        return record
