"""The search index: ECS templates and lifecycle, where documents go, bulk writes, storage stats."""

from pipeline.index.documents import index_document, index_name, storage_pattern
from pipeline.index.template import check_template, index_template, install_templates
from pipeline.index.writer import BulkResult, IndexWriter, PlainJsonNode, open_client

__all__ = ["index_document", "index_name", "storage_pattern", "check_template", "index_template",
           "install_templates", "BulkResult", "IndexWriter", "PlainJsonNode", "open_client"]
