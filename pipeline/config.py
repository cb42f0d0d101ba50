"""All settings in one typed place: an optional YAML file, overridden by ``BOTES_*`` environment variables.

Every setting can be set from the environment as ``BOTES_`` + its path joined with ``__``, e.g.
``BOTES_REDIS__URL``, ``BOTES_KAFKA__BOOTSTRAP_SERVERS``, ``BOTES_GEOIP__CITY_DB``. Secrets (passwords,
API keys) come only from the environment and are held as ``SecretStr`` so they never print.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from pipeline.errors import ConfigError

__all__ = [
    "Settings", "KafkaSettings", "RedisSettings", "CacheSettings", "IndexSettings", "SourceSettings",
    "GeoIPSettings", "AssetsSettings", "NetworkSettings", "NormalizeSettings", "RdnsSettings", "ThreatListFeed",
    "ThreatListsSettings", "ApiSourceSettings", "ShodanSettings", "OnypheSettings", "VirusTotalSettings",
    "FlinkSettings", "DownloadSettings", "load_settings", "bundled_data", "redacted", "ScotSettings", "EntityType",
]


def bundled_data(name: str) -> Path:
    """A file shipped inside the package under ``pipeline/data``."""
    return Path(str(resources.files("pipeline") / "data" / name))


def _seconds_or_iso(value: Any) -> Any:
    """Durations may be given as seconds ("3600") as well as ISO 8601 ("PT1H")."""
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
        return float(value)
    return value


# A duration: seconds (number or numeric text) or ISO 8601.
Duration = Annotated[timedelta, BeforeValidator(_seconds_or_iso)]


# Characters Elasticsearch and OpenSearch refuse in index names, and '-' (the data stream name separator).
_NOT_IN_NAMES = '-\\/*?"<>| ,#:'


class _Section(BaseModel):
    model_config = {"extra": "forbid"}


class KafkaSettings(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = "botes."          # topic = prefix + family, e.g. botes.firewall
    dead_letter_topic: str = "botes.dead-letter"
    partitions: int = Field(3, ge=1)       # for topics that `botes replay` / `botes setup` create
    group_id: str = "botes-enrichment"
    # Where the job starts when its group has no committed offset yet.
    starting_offsets: Literal["earliest", "latest"] = "earliest"
    # Source type -> family, overriding the default family (topic and index suffix) of a source type,
    # e.g. {"iis": "firewall"} sends IIS events to botes.firewall and botes-firewall.
    routing: dict[str, str] = Field(default_factory=dict)
    # A message larger than this is not a log record: the job sends it to the dead-letter topic unread.
    # Kafka's own default limit (message.max.bytes) is about the same.
    max_message_bytes: int = Field(1_048_576, ge=1024)


class RedisSettings(_Section):
    url: str = "redis://127.0.0.1:6379/0"
    password: SecretStr | None = None
    key_prefix: str = "botes"
    socket_timeout: float = 1.0            # seconds


class CacheSettings(_Section):
    # "redis" shares lookups between workers and runs; "memory" is per process (embedded mode).
    backend: Literal["redis", "memory"] = "redis"
    memory_max_entries: int = Field(100_000, ge=1)


class IndexSettings(_Section):
    url: str = "http://127.0.0.1:9200"
    # "elasticsearch": data streams with an ILM policy. "opensearch": plain indices, the closest OpenSearch
    # field types, and plain application/json (OpenSearch-API servers reject the elasticsearch client's
    # compatibility media type, application/vnd.elasticsearch+json; compatible-with=8).
    server: Literal["elasticsearch", "opensearch"] = "elasticsearch"
    # elasticsearch: data streams logs-<prefix>.<family>-<namespace>; opensearch: indices <prefix>-<family>.
    prefix: str = "botes"
    namespace: str = "default"             # elasticsearch: the data streams' namespace (e.g. prod, lab)
    # elasticsearch (ILM): a backing index rolls over at this age or primary shard size, and is deleted this
    # long after its rollover (null or "forever": kept for ever).
    retention: Duration | None = timedelta(days=90)
    rollover_max_age: Duration = timedelta(days=7)
    rollover_max_primary_shard_size: str = "50gb"
    # elasticsearch: before a batch is written, look its ids up in the data stream's older backing indices
    # whose @timestamp range covers them, so a replay after a rollover adds nothing (README: Storage).
    dedup_across_rollover: bool = True
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    verify_certs: bool = True
    ca_certs: Path | None = None
    bulk_actions: int = Field(500, ge=1)   # documents per bulk request, at most
    bulk_bytes: int = Field(5 * 1024 * 1024, ge=1024)  # bytes of documents per bulk request, at most
    # Bulk requests in flight per worker. A batch goes out as soon as a request slot is free: the first
    # slot never waits; the others take a batch once it is full or has waited flush_interval seconds.
    bulk_requests: int = Field(2, ge=1)
    flush_interval: float = Field(1.0, gt=0)
    request_timeout: float = 30.0
    # While the index is unreachable or asks to slow down (429, 5xx), each request is tried again after
    # retry_backoff seconds, doubling up to retry_max_backoff, for as long as it takes: the job waits.
    retry_backoff: float = Field(0.5, gt=0)
    retry_max_backoff: float = Field(10.0, gt=0)

    @field_validator("namespace")
    @classmethod
    def _is_namespace(cls, name: str) -> str:
        # Elastic's data stream naming scheme: lower case, no '-', at most 100 bytes.
        if not name or len(name.encode()) > 100 or name != name.lower() or any(c in _NOT_IN_NAMES for c in name):
            raise ValueError(f"{name!r}: lower case, at most 100 bytes, none of {_NOT_IN_NAMES!r}")
        return name

    @field_validator("rollover_max_primary_shard_size")
    @classmethod
    def _is_byte_size(cls, size: str) -> str:
        if re.fullmatch(r"[1-9][0-9]*(b|kb|mb|gb|tb|pb)", size) is None:
            raise ValueError(f"{size!r} is not a size such as 50gb or 500mb")
        return size

    @field_validator("retention", mode="before")
    @classmethod
    def _forever(cls, value: Any) -> Any:
        # The environment cannot hold a YAML null: BOTES_INDEX__RETENTION=forever keeps data for ever.
        return None if isinstance(value, str) and value.strip().lower() in ("forever", "null", "none") else value

    @field_validator("retention", "rollover_max_age")
    @classmethod
    def _is_positive(cls, age: timedelta | None) -> timedelta | None:
        if age is not None and age <= timedelta(0):
            raise ValueError("must be longer than zero")
        return age

    @model_validator(mode="after")
    def _prefix_fits_the_server(self) -> IndexSettings:
        if self.prefix != self.prefix.lower() or not self.prefix or any(c in _NOT_IN_NAMES[1:] for c in self.prefix):
            raise ValueError(f"prefix {self.prefix!r}: index names are lower case, without {_NOT_IN_NAMES[1:]!r}")
        if self.server == "elasticsearch" and "-" in self.prefix:
            raise ValueError(f"prefix {self.prefix!r}: with data streams it is part of the dataset "
                             f"(logs-<prefix>.<family>-<namespace>), which has no '-'")
        return self


class SourceSettings(_Section):
    enabled: bool = True
    cache: bool = True                     # put the shared cache in front of this source
    ttl: Duration = timedelta(hours=24)
    negative_ttl: Duration = timedelta(hours=1)  # how long "not found" is remembered
    # How long a failure is remembered (or the source's Retry-After, if longer), so a broken source is not
    # called again for every value.
    failure_ttl: Duration = timedelta(seconds=60)
    timeout: float = 2.0                   # seconds, enforced inside lookup()
    # Seconds a lookup waits for another process's call of the same value (single-flight) before it gives
    # up as failed; unset: the source's timeout + 1.
    single_flight_wait: float | None = Field(None, gt=0)


class LocalFileSourceSettings(SourceSettings):
    # Seconds between two looks at the source's file(s) for a change (then reloaded without a restart).
    reload_interval: float = Field(5.0, gt=0)


class GeoIPSettings(LocalFileSourceSettings):
    # Defaults are MaxMind's *test* databases shipped in the package, so a fresh checkout runs;
    # point these at GeoLite2/GeoIP2 City and ASN files for real answers.
    city_db: Path = Field(default_factory=lambda: bundled_data("mmdb/GeoLite2-City-Test.mmdb"))
    asn_db: Path = Field(default_factory=lambda: bundled_data("mmdb/GeoLite2-ASN-Test.mmdb"))
    ttl: Duration = timedelta(days=7)
    negative_ttl: Duration = timedelta(days=1)


class AssetsSettings(LocalFileSourceSettings):
    path: Path = Field(default_factory=lambda: bundled_data("assets.csv"))
    ttl: Duration = timedelta(hours=1)
    negative_ttl: Duration = timedelta(minutes=10)


class RdnsSettings(SourceSettings):
    # Off by default: a fresh machine may have no reachable resolver. Turn on and name resolvers.
    enabled: bool = False
    nameservers: list[str] = Field(default_factory=list)  # empty: the system's resolvers
    port: int = 53
    scope: Literal["all", "public", "internal"] = "all"   # which addresses get a PTR lookup
    ttl: Duration = timedelta(hours=24)                   # upper bound; the record's own TTL if shorter
    negative_ttl: Duration = timedelta(minutes=5)         # NXDOMAIN / no answer
    timeout: float = 1.0
    max_in_flight: int = Field(64, ge=1)


class ThreatListFeed(_Section):
    path: Path
    kind: Literal["ip", "domain", "hash"]               # IPs and CIDRs, domain names, MD5/SHA1/SHA256
    format: Literal["text", "csv"] = "text"             # text: one indicator per line, '#' comments
    column: str | None = None                           # csv: the column holding the indicator
    name: str | None = None                             # the feed's name (threat.enrichments.indicator.provider)


class ThreatListsSettings(LocalFileSourceSettings):
    cache: bool = False                                 # in-memory sets: faster than any cache
    lists: list[ThreatListFeed] = Field(default_factory=list)


class ApiSourceSettings(SourceSettings):
    """A paid external API: disabled (with one log line) until its key is set in the environment."""

    url: str = ""
    api_key: SecretStr | None = None
    timeout: float = 10.0
    max_in_flight: int = Field(4, ge=1)
    # Shared by every worker and process (a token bucket in Redis): calls per second and burst.
    rate: float = Field(1.0, gt=0)
    burst: int = Field(1, ge=1)
    rate_limit_wait: float = Field(5.0, ge=0)   # longest a lookup waits for its turn, else it fails
    breaker_failures: int = Field(5, ge=1)      # failures in a row that open the circuit breaker
    breaker_reset: float = Field(30.0, gt=0)    # seconds before a trial call is let through


class ShodanSettings(ApiSourceSettings):
    url: str = "https://api.shodan.io"
    rate: float = 1.0                   # Shodan API: 1 request/s
    ttl: Duration = timedelta(days=1)


class OnypheSettings(ApiSourceSettings):
    url: str = "https://www.onyphe.io/api/v2"
    rate: float = 1.0                   # assumed 1 request/s for the free plan
    ttl: Duration = timedelta(days=1)


class VirusTotalSettings(ApiSourceSettings):
    url: str = "https://www.virustotal.com"
    rate: float = 4 / 60                # public API: 4 requests/minute
    burst: int = 4
    ttl: Duration = timedelta(days=7)


class NormalizeSettings(_Section):
    # The time zone of source times that carry none (FortiGate date/time without tz, classic
    # WinEventLog times, ...). An IANA name, e.g. "America/New_York".
    default_timezone: str = "UTC"

    @field_validator("default_timezone")
    @classmethod
    def _is_time_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not an IANA time zone name (e.g. Europe/Paris)") from None
        return name


class NetworkSettings(_Section):
    # Public ranges your site uses internally: treated as internal (assets) rather than public (GeoIP).
    internal_networks: list[str] = Field(default_factory=list)

    @field_validator("internal_networks")
    @classmethod
    def _are_networks(cls, networks: list[str]) -> list[str]:
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an IP network (e.g. 203.0.113.0/24)") from None
        return networks


class FlinkSettings(_Section):
    parallelism: int = Field(1, ge=1)
    jars_dir: Path = Path(".cache/jars")   # where `botes fetch-jars` puts the Kafka connector jars
    # Events in flight per worker: enriched, and (in the Kafka job) waiting for the index. bench/cluster.py
    # measured 1000 against 256: the events waiting for a bulk request leave room for enrichment.
    async_capacity: int = Field(1000, ge=1)
    checkpoint_interval: float = Field(10.0, gt=0)  # seconds
    # HOST:PORT of a Flink cluster's REST API: `botes run` submits the job there and returns.
    # Unset: `botes run` runs the job in its own process (a local MiniCluster) until stopped.
    jobmanager: str | None = None
    # The Python the TaskManagers run the job's functions with; unset: the one running `botes`.
    python_executable: str | None = None
    health_interval: float = Field(30.0, gt=0)  # seconds between the job's health lines


class DownloadSettings(_Section):
    """`botes download`: where the public BOTES files are (the NybbleHub/BOTES README's download links)."""

    base_url: str = "https://botes.s3-us-west-1.amazonaws.com/botes-data"
    connect_timeout: float = Field(10.0, gt=0)   # seconds
    read_timeout: float = Field(60.0, gt=0)      # seconds without a byte before the download counts as cut


# The sources the job can run, in the default order.
EnricherName = Literal["assets", "rdns", "geoip", "threatlists", "shodan", "onyphe", "virustotal"]


# SCOT4's names for the entity types its flair finds and these sources can answer for.
EntityType = Literal["ipaddr", "ipv6", "domain", "md5", "sha1", "sha256"]


def _default_scot_sources() -> dict[EntityType, list[EnricherName]]:
    addresses: list[EnricherName] = ["assets", "rdns", "geoip", "threatlists", "shodan", "onyphe"]
    hashes: list[EnricherName] = ["threatlists", "virustotal"]
    return {"ipaddr": list(addresses), "ipv6": list(addresses), "domain": ["threatlists"],
            "md5": list(hashes), "sha1": list(hashes), "sha256": list(hashes)}


class ScotSettings(_Section):
    """SCOT4 entity enrichment: `botes scot serve` (Airflow's REST API subset SCOT calls) and the DAGs."""

    listen: str = "127.0.0.1:8089"         # HOST:PORT of `botes scot serve` (port 0: any free port)
    # The HTTP Basic account SCOT calls with (its ENRICHMENT_USERNAME / ENRICHMENT_PASSWORD).
    username: str | None = None
    password: SecretStr | None = None      # BOTES_SCOT__PASSWORD only
    # Callback host ("scot.example.com" or "scot.example.com:8443") -> SCOT API key, sent as
    # "Authorization: apikey <key>". BOTES_SCOT__API_KEYS only (JSON object). Callbacks go only to these hosts.
    api_keys: dict[str, SecretStr] = Field(default_factory=dict)
    # DAG ids the service answers to; the group entity_type names the SCOT entity type. SCOT4's chart
    # spells them scot4_entity_<type>_enrichment, its documentation scot_entity_<type>_enrichment.
    dag_id_pattern: str = r"scot4?_entity_(?P<entity_type>[a-z0-9_]+)_enrichment"
    airflow_dag_id: str = "scot4_entity_{entity_type}_enrichment"  # the DAG ids scot/dags/ creates
    # Sources per entity type, each a task (DAG) or a tab (both); only enabled, keyed sources run.
    sources: dict[EntityType, list[EnricherName]] = Field(default_factory=_default_scot_sources)
    max_in_flight: int = Field(32, ge=1)   # entity enrichments running at once; the others queue
    max_runs: int = Field(10_000, ge=1)    # finished runs remembered for GET .../dagRuns/{id}
    callback_attempts: int = Field(6, ge=1)        # posts of one result before giving up
    callback_backoff: float = Field(1.0, gt=0)     # seconds before the first retry; doubles each time
    callback_backoff_max: float = Field(60.0, gt=0)
    callback_timeout: float = Field(10.0, gt=0)    # seconds per post

    @field_validator("listen")
    @classmethod
    def _is_host_port(cls, listen: str) -> str:
        host, colon, port = listen.rpartition(":")
        if not colon or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{listen!r} is not HOST:PORT (e.g. 0.0.0.0:8089)")
        return listen

    @field_validator("dag_id_pattern")
    @classmethod
    def _names_entity_type(cls, pattern: str) -> str:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if "entity_type" not in compiled.groupindex:
            raise ValueError("needs a group (?P<entity_type>...) naming the SCOT entity type")
        return pattern

    @model_validator(mode="after")
    def _airflow_ids_match_pattern(self) -> ScotSettings:
        for entity_type in self.sources:
            try:
                dag_id = self.airflow_dag_id.format(entity_type=entity_type)
            except (KeyError, IndexError, ValueError):
                raise ValueError(f"airflow_dag_id {self.airflow_dag_id!r}: the only field it may name is "
                                 "{entity_type}") from None
            found = re.fullmatch(self.dag_id_pattern, dag_id)
            if found is None or found.group("entity_type") != entity_type:
                raise ValueError(f"airflow_dag_id gives {dag_id!r}, which dag_id_pattern does not read as "
                                 f"entity type {entity_type!r}")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOTES_", env_nested_delimiter="__", extra="forbid")

    enrichers: list[EnricherName] = Field(default_factory=lambda: list(get_args(EnricherName)))
    normalize: NormalizeSettings = Field(default_factory=NormalizeSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    geoip: GeoIPSettings = Field(default_factory=GeoIPSettings)
    assets: AssetsSettings = Field(default_factory=AssetsSettings)
    rdns: RdnsSettings = Field(default_factory=RdnsSettings)
    threatlists: ThreatListsSettings = Field(default_factory=ThreatListsSettings)
    shodan: ShodanSettings = Field(default_factory=ShodanSettings)
    onyphe: OnypheSettings = Field(default_factory=OnypheSettings)
    virustotal: VirusTotalSettings = Field(default_factory=VirusTotalSettings)
    flink: FlinkSettings = Field(default_factory=FlinkSettings)
    download: DownloadSettings = Field(default_factory=DownloadSettings)
    scot: ScotSettings = Field(default_factory=ScotSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first, then the YAML file (if one was given), then defaults.
        yaml_file = settings_cls.model_config.get("yaml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls))
        return tuple(sources)


_SECRET_NAMES = ("password", "api_key", "api_keys")


def _reject_secrets_in_file(data: Any, path: str = "") -> None:
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key in _SECRET_NAMES and value is not None:
            env = "BOTES_" + where.upper().replace(".", "__")
            raise ConfigError(f"{where}: secrets are not read from the config file; set {env} instead")
        _reject_secrets_in_file(value, where)


def load_settings(path: Path | None = None) -> Settings:
    """Settings from ``path`` (YAML, optional) and the environment; ConfigError names a bad setting."""
    settings_cls: type[Settings] = Settings
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
        if not isinstance(content, dict):
            raise ConfigError(f"config file {path}: the top level must be a mapping of sections")
        _reject_secrets_in_file(content)
        settings_cls = type("FileSettings", (Settings,), {
            "model_config": SettingsConfigDict(**{**Settings.model_config, "yaml_file": path}),
        })
    try:
        loaded = settings_cls()
    except SettingsError as exc:  # e.g. a list setting in the environment that is not JSON
        raise ConfigError(f"invalid settings: {exc}; list and object values are JSON, "
                          'e.g. BOTES_ENRICHERS=\'["geoip"]\'') from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
    # A plain Settings (not the per-file subclass) pickles cleanly into Flink functions.
    return Settings.model_validate(loaded.model_dump())


def redacted(settings: Settings) -> dict[str, Any]:
    """The effective settings as JSON-able data, secrets and URL credentials masked."""
    data = settings.model_dump(mode="json")
    data["redis"]["url"] = _mask_url_password(data["redis"]["url"])
    data["index"]["url"] = _mask_url_password(data["index"]["url"])
    return data


def _mask_url_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":**********@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
