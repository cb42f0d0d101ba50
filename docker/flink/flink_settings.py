"""Print the shared Flink settings (pipeline/flink/conf/config.yaml) as ``-Dkey=value`` lines for Flink's
``bin/config-parser-utils.sh``, which writes them into the image's ``conf/config.yaml``.

Nested and dotted keys are both flattened (Flink's config.yaml allows either). Addresses and ports stay
the image's: the containers bind to every interface and find the JobManager through compose's DNS.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

# Where each deployment differs: the image binds to 0.0.0.0, compose sets the JobManager's name.
NETWORK_KEYS = ("jobmanager.rpc.address", "jobmanager.rpc.port", "jobmanager.bind-host", "taskmanager.bind-host",
                "taskmanager.host", "rest.address", "rest.bind-address", "rest.port", "rest.bind-port")


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def as_flink_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ";".join(as_flink_value(item) for item in value)
    return str(value)


def settings_arguments(config: Path) -> list[str]:
    tree = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    arguments = [f"-D{key}={as_flink_value(value)}" for key, value in sorted(flatten(tree).items())
                 if key not in NETWORK_KEYS]
    # config-parser-utils.sh passes its arguments on unquoted: "10 min" would arrive as "10".
    spaced = [argument for argument in arguments if " " in argument]
    if spaced:
        raise SystemExit(f"{config}: Flink's config-parser-utils.sh cuts values at spaces; write durations "
                         f"without one (10min, not 10 min): {', '.join(spaced)}")
    return arguments


if __name__ == "__main__":
    print("\n".join(settings_arguments(Path(sys.argv[1]))))
