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


def test_every_library_the_dags_import_is_in_the_airflow_requirements() -> None:
    """What the DAG tasks import (pipeline.scot.tasks and everything below it) comes from distributions the
    Airflow environment installs: those listed, or what they depend on. Catches a new import in a shared
    module (orjson in pipeline/events.py once broke every DAG with ModuleNotFoundError)."""
    import re
    import subprocess
    import sys
    from importlib.metadata import distribution, packages_distributions

    listed = {Requirement(line).name for line in (REPO / "scot" / "requirements-airflow.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    allowed, todo = set(), [*listed]
    while todo:  # the listed distributions and their own dependencies, as installed here
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in allowed:
            continue
        allowed.add(name)
        for requirement in distribution(name).requires or []:
            parsed = Requirement(requirement)
            if parsed.marker is None or parsed.marker.evaluate({"extra": ""}):
                todo.append(parsed.name)
    def top_level_modules(imports: str) -> set[str]:
        code = f"import sys{imports}; print(' '.join({{m.split('.')[0] for m in sys.modules}}))"
        return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                  cwd=REPO).stdout.split())

    # Less what every interpreter here loads at start-up (site hooks such as setuptools' _distutils_hack).
    imported = top_level_modules(", pipeline.scot.tasks, pipeline.scot.enrichment") - top_level_modules("")
    owners = packages_distributions()
    missing = {f"{module} ({', '.join(owners[module])})" for module in imported if module in owners
               and not {re.sub(r"[-_.]+", "-", d).lower() for d in owners[module]} & (allowed | {"botes-pipeline"})}
    assert not missing, f"imported by the DAGs' code but not installed with Airflow: {sorted(missing)}"
