"""scot/requirements-airflow.txt pins what the DAGs need in an Airflow environment in the ranges
pyproject.toml pins them, so the two cannot drift apart."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement

from tests.conftest import REPO


def test_airflow_requirements_match_the_package() -> None:
    pinned = {Requirement(r).name: Requirement(r).specifier
              for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    lines = [line.strip() for line in (REPO / "scot" / "requirements-airflow.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines, "no requirements"
    for line in lines:
        requirement = Requirement(line)
        assert requirement.name in pinned, f"{requirement.name} is not a dependency in pyproject.toml"
        assert requirement.specifier == pinned[requirement.name], requirement.name
    assert "apache-flink" not in {Requirement(line).name for line in lines}
