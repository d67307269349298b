"""docker-compose.yml and the cluster override: services, healthchecks, volumes, profiles, pins, no secrets,
and the reverse proxy as the only published service."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
CLUSTER = REPO / "docker-compose.cluster.yml"
NGINX = REPO / "deploy" / "nginx.conf"
SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|TOKEN)", re.I)
# Values that may sit inline under a secret-looking name: interpolations and non-secrets.
ALLOWED_INLINE = {"[]", "no-key-needed-by-the-local-llm"}
# Env needed by `${VAR:?message}` interpolations, as an operator's .env would set them.
REQUIRED_ENV = {"DOCENT_WIDGET__TOKEN_SECRET": "test-secret", "QDRANT_API_KEY": "test-key"}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment is a mapping, so anchors merge"
    return {str(k): str(v) for k, v in env.items()}


def test_compose_has_the_services_and_profiles() -> None:
    """proxy, qdrant, api and worker always; llm and postgres only behind their profiles."""
    services = _load(COMPOSE)["services"]
    assert {"proxy", "qdrant", "api", "worker", "llm", "postgres"} <= set(services)
    for name in ("proxy", "qdrant", "api", "worker"):
        assert not services[name].get("profiles"), name
    assert services["llm"]["profiles"] == ["llm"]
    assert services["postgres"]["profiles"] == ["postgres"]


def test_compose_every_service_has_a_healthcheck() -> None:
    """Each service says how to tell it is healthy, and the API's check hits /readyz."""
    services = _load(COMPOSE)["services"]
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, name
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert "/readyz" in " ".join(services["qdrant"]["healthcheck"]["test"])


def test_compose_stateful_services_keep_state_in_named_volumes() -> None:
    """Qdrant, Postgres and Docent's data dir live in named volumes declared at the top level."""
    data = _load(COMPOSE)
    declared = set(data["volumes"])
    wanted = {"qdrant": "/qdrant/storage", "postgres": "/var/lib/postgresql/data", "api": "/var/lib/docent",
              "worker": "/var/lib/docent"}
    for name, target in wanted.items():
        mounts = [str(v).split(":") for v in data["services"][name]["volumes"]]
        named = [m for m in mounts if m[1] == target]
        assert named and named[0][0] in declared, (name, mounts)


def test_compose_images_are_pinned() -> None:
    """No :latest and no untagged images, in the base file or the cluster override."""
    for path in (COMPOSE, CLUSTER):
        text = path.read_text()
        for image in re.findall(r"^\s*image:\s*(\S+)", text, re.M):
            tag = image.rsplit(":", 1)[-1] if ":" in image.split("/")[-1] else ""
            assert tag and tag != "latest", (path.name, image)
    assert re.search(r"qdrant/qdrant:v\d+\.\d+\.\d+", COMPOSE.read_text())


def test_compose_no_secrets_inline() -> None:
    """Every secret-looking variable is an interpolation from the environment or .env."""
    for path in (COMPOSE, CLUSTER):
        for name, service in _load(path)["services"].items():
            for key, value in _env(service).items():
                if SECRET_NAME.search(key) and value not in ALLOWED_INLINE:
                    assert value.startswith("${") and value.endswith("}"), (path.name, name, key, value)


def test_compose_api_runs_docent_serve_workers_and_worker_watches() -> None:
    """The API is `docent serve --workers N` (so its proxy trust and connection limits apply) in
    server mode; the worker runs `docent ingest --watch`."""
    services = _load(COMPOSE)["services"]
    api, worker = services["api"], services["worker"]
    assert api["command"][:2] == ["docent", "serve"]
    assert "--workers" in api["command"] and "--proxy-headers" not in api["command"]
    assert worker["command"][:3] == ["docent", "ingest", "--watch"]
    for service in (api, worker):
        env = _env(service)
        assert env["QDRANT_URL"].startswith("${QDRANT_URL:-http://qdrant:6333")
        assert env["DOCENT_WATCH"] == "false"
        assert service["depends_on"]["qdrant"]["condition"] == "service_healthy"


def test_compose_publishes_only_the_proxy_and_api_trusts_only_it() -> None:
    """nginx is the one published service; the API believes X-Forwarded-For from the proxy's fixed address only."""
    for path in (COMPOSE, CLUSTER):
        published = {name for name, service in _load(path)["services"].items() if service.get("ports")}
        assert published == ({"proxy"} if path == COMPOSE else set()), path.name
    data = _load(COMPOSE)
    proxy, api = data["services"]["proxy"], data["services"]["api"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+-alpine", proxy["image"])
    assert proxy["ports"] == ["${DOCENT_PORT:-8000}:8080"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    proxy_ip = proxy["networks"]["default"]["ipv4_address"]
    assert _env(api)["DOCENT_TRUSTED_PROXIES"] == proxy_ip == "${DOCENT_PROXY_IP:-172.30.80.10}"
    subnet = data["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert subnet == "${DOCENT_SUBNET:-172.30.80.0/24}"
    assert api["expose"] == ["8000"]


def test_nginx_config_bounds_clients_and_replaces_forwarded_for() -> None:
    """The proxy limits header size, slow headers/bodies, body size and connections, and overwrites
    the client's own X-Forwarded-For with the address it saw."""
    conf = NGINX.read_text()
    for directive in ("large_client_header_buffers", "client_header_timeout", "client_body_timeout",
                      "client_max_body_size", "keepalive_timeout", "send_timeout", "limit_conn per_ip_conn",
                      "limit_req zone=per_ip_req", "proxy_buffering off"):
        assert re.search(rf"^\s*{re.escape(directive)}\b", conf, re.M), directive
    assert re.search(r"^\s*proxy_set_header X-Forwarded-For \$remote_addr;", conf, re.M)
    assert "$proxy_add_x_forwarded_for" not in conf
    assert re.search(r"^\s*listen 8080;", conf, re.M)


def test_cluster_override_runs_three_peers_in_distributed_mode() -> None:
    """Three Qdrant peers with cluster mode on, each with its own volume; peers 2 and 3 bootstrap from the first."""
    data = _load(CLUSTER)
    peers = {n: s for n, s in data["services"].items() if n.startswith("qdrant")}
    assert set(peers) == {"qdrant", "qdrant-2", "qdrant-3"}
    volumes = set()
    for name, peer in peers.items():
        assert _env(peer)["QDRANT__CLUSTER__ENABLED"] == "true"
        assert f"http://{name}:6335" in peer["command"]
        volumes.add(str(peer["volumes"][0]).split(":")[0])
    assert len(volumes) == 3
    assert "--bootstrap" in peers["qdrant-2"]["command"] and "--bootstrap" in peers["qdrant-3"]["command"]
    worker_env = _env(data["services"]["worker"])
    assert "DOCENT_INDEX__SHARD_NUMBER" in worker_env and "DOCENT_INDEX__REPLICATION_FACTOR" in worker_env


def _compose_cli() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    return None


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.cluster.yml"]])
def test_compose_config_parses_with_every_profile(files: list[str], tmp_path: Path) -> None:
    """`docker compose config` (or Debian's docker-compose v1) accepts the files, offline, with all profiles."""
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    # An empty env file: a developer's own .env must not decide the outcome.
    (tmp_path / "empty.env").write_text("")
    args = [a for f in files for a in ("-f", str(REPO / f))] + ["--env-file", str(tmp_path / "empty.env")]
    env = {**os.environ, **REQUIRED_ENV}
    result = subprocess.run([*cli, *args, "--profile", "llm", "--profile", "postgres", "config", "--services"],
                            cwd=REPO, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"proxy", "qdrant", "api", "worker", "llm", "postgres"} <= services
    if len(files) == 2:
        assert {"qdrant-2", "qdrant-3"} <= services


def test_compose_config_refuses_to_run_without_the_widget_secret(tmp_path: Path) -> None:
    """Several API processes need one token secret: config fails, naming the variable, when it is unset."""
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    env = {k: v for k, v in os.environ.items() if k != "DOCENT_WIDGET__TOKEN_SECRET"}
    (tmp_path / "empty.env").write_text("")
    result = subprocess.run([*cli, "--env-file", str(tmp_path / "empty.env"), "config", "-q"], cwd=REPO,
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0 and "DOCENT_WIDGET__TOKEN_SECRET" in result.stderr
