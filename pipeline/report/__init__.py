"""The HTML investigation report: enriched events aggregated in one pass, rendered with a template."""

from pipeline.report.aggregate import Aggregate, Limits
from pipeline.report.build import ReportError, ReportOutcome, write_report

__all__ = ["Aggregate", "Limits", "ReportError", "ReportOutcome", "write_report"]
