"""BOTES JSON -> ECS. Pure once the field tables are loaded."""

from pipeline.normalize.files import BotesFile, find_botes_files, read_lines
from pipeline.normalize.normalizer import ECS_VERSION, Normalizer
from pipeline.normalize.sources import FAMILIES, SOURCE_TYPES, SourceType, resolve_source_type

__all__ = ["Normalizer", "ECS_VERSION", "SOURCE_TYPES", "FAMILIES", "SourceType", "resolve_source_type",
           "BotesFile", "find_botes_files", "read_lines"]
