"""Enrichment sources behind one small async interface, and the chain that runs them on an event."""

from pipeline.enrich.base import Enricher
from pipeline.enrich.chain import EnrichmentChain, merge_into
from pipeline.enrich.registry import ENRICHERS, build_enrichers

__all__ = ["Enricher", "EnrichmentChain", "merge_into", "ENRICHERS", "build_enrichers"]
