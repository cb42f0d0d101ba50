"""Internal assets and their classification, from a CSV table keyed by IP or CIDR (longest prefix wins).

The table is reloaded when its file changes (see reloading.py); a file that does not load keeps the old table.
"""

from __future__ import annotations

import csv
import ipaddress
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pipeline.addresses import AddressClassifier, Scope, parse_ip
from pipeline.config import AssetsSettings
from pipeline.enrich.base import address_targets
from pipeline.enrich.reloading import FileBacked
from pipeline.errors import ConfigError, DependencyError
from pipeline.events import Event, Found, NotFound, Outcome, Target

__all__ = ["AssetsEnricher", "AssetTable", "CRITICALITIES", "ASSET_FIELD"]

CRITICALITIES = ("Critical", "Medium", "Low")
ASSET_FIELD = "asset"  # results go to botes.<source|destination|...>.asset.*
_COLUMNS = ("network", "hostname", "owner", "os", "location", "criticality", "roles")


class AssetTable:
    """Exact-IP and CIDR rows; a lookup tries each prefix length present, longest first."""

    def __init__(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self._by_prefix: dict[tuple[int, int], dict[Any, dict[str, Any]]] = {}
        for network_text, asset in rows:
            network = ipaddress.ip_network(network_text, strict=False)
            self._by_prefix.setdefault((network.version, network.prefixlen), {})[network] = asset
        self._lengths = sorted(self._by_prefix, key=lambda k: -k[1])

    def __len__(self) -> int:
        return sum(len(nets) for nets in self._by_prefix.values())

    def find(self, value: str) -> dict[str, Any] | None:
        address = parse_ip(value)
        if address is None:
            return None
        for version, length in self._lengths:
            if version != address.version:
                continue
            network = ipaddress.ip_network(f"{address}/{length}", strict=False)
            asset = self._by_prefix[(version, length)].get(network)
            if asset is not None:
                return asset
        return None

    @classmethod
    def from_csv(cls, path: Path) -> AssetTable:
        try:
            with path.open(encoding="utf-8", newline="") as f:
                numbered = [(n, line) for n, line in enumerate(f, start=1)
                            if line.strip() and not line.lstrip().startswith("#")]
        except OSError as exc:
            raise DependencyError(f"assets.path: cannot read {path}: {exc}") from None
        rows = csv.reader(line for _, line in numbered)
        header = [name.strip() for name in next(rows, [])]
        if "network" not in header:
            raise ConfigError(f"assets.path {path}: no 'network' column in the header ({', '.join(_COLUMNS)})")
        return cls(_parse_row(path, number, dict(zip(header, values, strict=False)))
                   for (number, _), values in zip(numbered[1:], rows, strict=True))


def _parse_row(path: Path, line: int, row: dict[str, str]) -> tuple[str, dict[str, Any]]:
    network = (row.get("network") or "").strip()
    try:
        ipaddress.ip_network(network, strict=False)
    except ValueError:
        raise ConfigError(f"assets.path {path}:{line}: {network!r} is not an IP or CIDR") from None
    criticality = (row.get("criticality") or "").strip().title()
    if criticality and criticality not in CRITICALITIES:
        raise ConfigError(f"assets.path {path}:{line}: criticality {criticality!r} is not one of "
                          f"{', '.join(CRITICALITIES)}")
    asset: dict[str, Any] = {
        "hostname": row.get("hostname"), "owner": row.get("owner"), "os": row.get("os"),
        "location": row.get("location"), "criticality": criticality or None,
        "roles": [r.strip() for r in (row.get("roles") or "").split(";") if r.strip()] or None,
    }
    asset = {k: v.strip() if isinstance(v, str) else v for k, v in asset.items()}
    return network, {k: v for k, v in asset.items() if v}


class AssetsEnricher:
    name = "assets"
    title = "Internal asset"

    def __init__(self, settings: AssetsSettings, classifier: AddressClassifier, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._table = FileBacked(settings.path, AssetTable.from_csv, setting="assets.path", clock=clock,
                                 interval=settings.reload_interval)
        self._classifier = classifier

    def targets(self, event: Event) -> Iterable[Target]:
        return address_targets(event, self._classifier, Scope.INTERNAL)

    async def lookup(self, value: str) -> Outcome:
        return self._answer(value)

    def answer_now(self, values: Sequence[str]) -> dict[str, Outcome]:
        """A local table: every value is answered at once."""
        return {value: self._answer(value) for value in values}

    def _answer(self, value: str) -> Outcome:
        asset = self._table.get().find(value)
        return Found(asset) if asset is not None else NotFound()

    def fragment(self, target: Target, found: Found) -> Event:
        return {"botes": {target.field: {ASSET_FIELD: found.data}}}

    def summary_rows(self, found: Found) -> list[tuple[str, Any]]:
        return [(name, found.data.get(name)) for name in _COLUMNS[1:]]

    async def aclose(self) -> None:
        self._table.close()
