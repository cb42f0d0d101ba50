"""Exceptions for start-up and configuration problems. Per-event problems are values, not exceptions."""

from __future__ import annotations

__all__ = ["PipelineError", "ConfigError", "DependencyError"]


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""


class ConfigError(PipelineError):
    """A setting is missing or wrong; the message names the setting."""


class DependencyError(PipelineError):
    """Something the job needs at start (a file, a server, a jar) is not there."""
