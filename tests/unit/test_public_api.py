"""Completeness checks: every module says what it exports, and every enricher module is registered."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import pipeline
import pipeline.enrich
from pipeline.enrich.registry import ENRICHERS

_ENTRY_POINTS = {"pipeline.__main__"}


def _modules() -> list[ModuleType]:
    names = [m.name for m in pkgutil.walk_packages(pipeline.__path__, "pipeline.")]
    return [importlib.import_module(n) for n in names if n not in _ENTRY_POINTS]


@pytest.mark.parametrize("module", _modules(), ids=lambda m: m.__name__)
def test_every_module_lists_its_public_names_and_they_exist(module: ModuleType) -> None:
    if module.__name__ == "pipeline.flink":  # a namespace for the Flink entry points only
        return
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module.__name__} has no __all__"
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module.__name__}.__all__ names what it does not define: {missing}"


def test_every_enricher_module_is_in_the_registry() -> None:
    infrastructure = {"base", "chain", "registry", "reloading", "scot"}
    sources = {m.name for m in pkgutil.iter_modules(pipeline.enrich.__path__)} - infrastructure
    assert sources == set(ENRICHERS)


def test_each_registered_enricher_carries_its_registry_name() -> None:
    for name in ENRICHERS:
        module = importlib.import_module(f"pipeline.enrich.{name}")
        classes = [v for v in vars(module).values() if isinstance(v, type) and v.__name__.endswith("Enricher")]
        assert [c.name for c in classes] == [name]
