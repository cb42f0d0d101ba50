"""The search index: ECS index template, deterministic document ids, bulk writes."""

from pipeline.index.documents import index_name
from pipeline.index.template import index_template, install_template
from pipeline.index.writer import BulkResult, IndexWriter, PlainJsonNode, open_client

__all__ = ["index_name", "index_template", "install_template", "BulkResult", "IndexWriter",
           "PlainJsonNode", "open_client"]
