"""Writes tests/data/elasticsearch-spec/requests-<version>.json.gz: the documented request bodies `botes setup`
and `botes index` send, cut out of Elasticsearch's OpenAPI specification.

The input is ``output/openapi/elasticsearch-openapi.json`` of github.com/elastic/elasticsearch-specification
(branch 8.15 for the Elasticsearch the docker tests run). Kept: each request's body schema and every schema it
refers to, unchanged; tests/unit/index/test_request_shapes.py validates the bodies the real elasticsearch client
sends against them.

    python scripts/extract_es_request_schemas.py elasticsearch-openapi.json --version 8.15 --commit <sha>
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "elasticsearch-spec"

# API name (as the elasticsearch client names it) -> (path, method) in the specification.
REQUESTS = {
    "cluster.put_component_template": ("/_component_template/{name}", "put"),
    "indices.put_index_template": ("/_index_template/{name}", "put"),
    "ilm.put_lifecycle": ("/_ilm/policy/{policy}", "put"),
    "indices.rollover": ("/{alias}/_rollover", "post"),
}


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _referenced(spec: dict[str, Any], node: Any, seen: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and value not in seen:
                seen.add(value)
                _referenced(spec, _resolve(spec, value), seen)
            else:
                _referenced(spec, value, seen)
    elif isinstance(node, list):
        for item in node:
            _referenced(spec, item, seen)


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    bodies: dict[str, Any] = {}
    for name, (path, method) in REQUESTS.items():
        body = spec["paths"][path][method]["requestBody"]
        if "$ref" in body:
            body = _resolve(spec, body["$ref"])
        bodies[name] = body["content"]["application/json"]["schema"]
    seen: set[str] = set()
    _referenced(spec, bodies, seen)
    schemas = {ref.rsplit("/", 1)[1]: _resolve(spec, ref) for ref in sorted(seen)
               if ref.startswith("#/components/schemas/")}
    return {"requests": bodies, "components": {"schemas": schemas}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("openapi", type=Path, help="output/openapi/elasticsearch-openapi.json")
    parser.add_argument("--version", required=True, help="the specification branch, e.g. 8.15")
    parser.add_argument("--commit", required=True, help="the specification commit the file comes from")
    args = parser.parse_args()
    subset = extract(json.loads(args.openapi.read_text(encoding="utf-8")))
    subset["source"] = {"repository": "https://github.com/elastic/elasticsearch-specification",
                        "branch": args.version, "commit": args.commit,
                        "path": "output/openapi/elasticsearch-openapi.json", "license": "Apache-2.0"}
    out = OUT_DIR / f"requests-{args.version}.json.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(json.dumps(subset, indent=1, sort_keys=True).encode(), mtime=0))
    print(f"{len(subset['requests'])} requests, {len(subset['components']['schemas'])} schemas -> {out}")


if __name__ == "__main__":
    main()
