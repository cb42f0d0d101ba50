"""The Flink image (docker/flink/Dockerfile): hadolint at the error threshold, the same Flink and Python as
pyproject.toml, and the shared Flink settings merged by Flink's own configuration tool."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pyflink
import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import REPO, load_script

DOCKERFILES = sorted((REPO / "docker").rglob("Dockerfile"))
FLINK_DOCKERFILE = REPO / "docker" / "flink" / "Dockerfile"
SHARED_SETTINGS = REPO / "pipeline" / "flink" / "conf" / "config.yaml"
PYFLINK = Path(pyflink.__file__).parent


def build_args(dockerfile: Path) -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile.read_text(), re.MULTILINE))


def project() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def pinned_flink() -> str:
    pins = [d for d in project()["dependencies"] if re.match(r"apache-flink\s*==", d)]
    assert len(pins) == 1, "pyproject.toml must pin apache-flink to one version"
    return pins[0].split("==")[1].strip()


def test_dockerfiles_pass_hadolint_at_the_error_threshold() -> None:
    assert DOCKERFILES
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), "--failure-threshold", "error", *map(str, DOCKERFILES)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_the_flink_version_pyproject_pins() -> None:
    args = build_args(FLINK_DOCKERFILE)
    assert args["FLINK_VERSION"] == pinned_flink()
    bases = re.findall(r"^FROM (\S+)", FLINK_DOCKERFILE.read_text(), re.MULTILINE)
    official = [b for b in bases if b.startswith("flink:")]
    assert official and all(b.startswith("flink:${FLINK_VERSION}-") for b in official)
    # The other stages build on that one (no second, unpinned Flink).
    assert set(bases) - set(official) <= {"python"}


def test_the_image_runs_a_python_pyproject_allows() -> None:
    python = Version(build_args(FLINK_DOCKERFILE)["PYTHON_VERSION"])
    assert python in SpecifierSet(project()["requires-python"])
    assert re.fullmatch(r"[0-9a-f]{64}", build_args(FLINK_DOCKERFILE)["PYTHON_SHA256"])


def load_flink_settings_script() -> ModuleType:
    return load_script(REPO / "docker" / "flink" / "flink_settings.py")


def merged_config(shared: Path, tmp_path: Path) -> dict[str, Any]:
    """What the image's conf/config.yaml becomes: Flink's default config.yaml (from the wheel's distribution)
    with the shared settings applied by Flink's own bin/config-parser-utils.sh, as the Dockerfile does."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_text((PYFLINK / "conf" / "config.yaml").read_text())
    arguments = load_flink_settings_script().settings_arguments(shared)
    if arguments:
        subprocess.run(["bash", str(PYFLINK / "bin" / "config-parser-utils.sh"), str(conf), str(PYFLINK / "bin"),
                        str(PYFLINK / "lib"), *arguments], check=True, capture_output=True, timeout=120,
                       env={"FLINK_HOME": str(PYFLINK), "PATH": "/usr/bin:/bin"})
    flat: dict[str, Any] = load_flink_settings_script().flatten(yaml.safe_load((conf / "config.yaml").read_text()))
    return flat


def test_the_shared_flink_settings_reach_the_images_config(tmp_path: Path) -> None:
    script = load_flink_settings_script()
    shared = script.flatten(yaml.safe_load(SHARED_SETTINGS.read_text()) or {})
    merged = merged_config(SHARED_SETTINGS, tmp_path)
    for key, value in shared.items():
        if key not in script.NETWORK_KEYS:
            assert str(merged[key]).lower() == script.as_flink_value(value).lower(), key


def test_nested_and_dotted_settings_merge_but_addresses_stay_the_images(tmp_path: Path) -> None:
    shared = tmp_path / "shared.yaml"
    shared.write_text("taskmanager:\n  numberOfTaskSlots: 3\n  bind-host: 10.9.9.9\n"
                      "state.backend.type: rocksdb\nrest:\n  address: 10.9.9.9\n")
    merged = merged_config(shared, tmp_path)
    assert str(merged["taskmanager.numberOfTaskSlots"]) == "3"
    assert merged["state.backend.type"] == "rocksdb"
    default = load_flink_settings_script().flatten(yaml.safe_load((PYFLINK / "conf" / "config.yaml").read_text()))
    assert merged["taskmanager.bind-host"] == default["taskmanager.bind-host"]
    assert merged["rest.address"] == default["rest.address"]


def test_a_value_with_a_space_is_refused_before_flinks_script_cuts_it(tmp_path: Path) -> None:
    shared = tmp_path / "shared.yaml"
    shared.write_text("execution:\n  checkpointing:\n    timeout: 10 min\n")
    with pytest.raises(SystemExit, match=r"10min, not 10 min.*-Dexecution\.checkpointing\.timeout=10 min"):
        load_flink_settings_script().settings_arguments(shared)
