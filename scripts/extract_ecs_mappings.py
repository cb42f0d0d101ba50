"""Writes pipeline/data/ecs/mapping_parameters.json: the Elasticsearch mapping parameters of every ECS field.

The input is ECS's own generated field definitions, ``generated/ecs/ecs_flat.yml`` of github.com/elastic/ecs at
the tag the pipeline follows (v9.4.0, commit 354fd8d0ca99faa15405d1ea1d3bb396724d3e5a). Only what decides an
Elasticsearch mapping is kept (the keys ECS's own template generator, ``scripts/generators/es_template.py``,
reads); descriptions, examples and OTel notes are dropped.

    python scripts/extract_ecs_mappings.py path/to/ecs_flat.yml [--out pipeline/data/ecs/mapping_parameters.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).resolve().parent.parent / "pipeline" / "data" / "ecs" / "mapping_parameters.json"

# The field keys es_template.py's entry_for() turns into mapping parameters.
FIELD_KEYS = ("type", "enabled", "index", "doc_values", "ignore_above", "synthetic_source_keep", "value", "norms",
              "path", "scaling_factor", "parameters")
MULTI_FIELD_KEYS = ("name", "type", "normalizer", "ignore_above", "norms", "analyzer", "parameters")


def mapping_parameters(flat: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    fields: dict[str, dict[str, Any]] = {}
    for name in sorted(flat):
        definition = flat[name]
        entry = {key: definition[key] for key in FIELD_KEYS if key in definition}
        if "multi_fields" in definition:
            entry["multi_fields"] = [{key: multi[key] for key in MULTI_FIELD_KEYS if key in multi}
                                     for multi in definition["multi_fields"]]
        fields[name] = entry
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("ecs_flat", type=Path, help="generated/ecs/ecs_flat.yml of the ECS release")
    parser.add_argument("--version", default="9.4.0", help="the ECS version of that file")
    parser.add_argument("--out", type=Path, default=OUT, help=f"file to write (default {OUT})")
    args = parser.parse_args()
    flat = yaml.safe_load(args.ecs_flat.read_text(encoding="utf-8"))
    fields = mapping_parameters(flat)
    # One field per line, so a new ECS release shows as a readable diff.
    lines = [f"  {json.dumps(name)}: {json.dumps(entry, sort_keys=True)}" for name, entry in fields.items()]
    args.out.write_text('{"ecs_version": ' + json.dumps(args.version) + ', "fields": {\n' + ",\n".join(lines)
                        + "\n}}\n", encoding="utf-8")
    print(f"{len(fields)} fields -> {args.out}")


if __name__ == "__main__":
    main()
