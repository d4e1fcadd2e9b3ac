"""docker-compose.yml passes only settings the code reads, and they select the real stack."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from api.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
# ${NAME:-default} and ${NAME-default}: compose interpolation, resolved to the default here.
INTERPOLATION = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}")


def load_compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): INTERPOLATION.sub(lambda m: m.group(1) or "", str(v)) for k, v in env.items()}


def kura_env() -> dict[str, dict[str, str]]:
    services = load_compose()["services"]
    return {
        name: {k: v for k, v in environment(svc).items() if k.startswith("KURA_")}
        for name, svc in services.items()
    }


def model_of(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside an annotation such as ``RecordsSettings`` or ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = model_of(arg)
        if found is not None:
            return found
    return None


def is_setting(key: str) -> bool:
    """Whether ``KURA_A__B`` names a field of Settings (walking nested groups via ``__``)."""
    parts = key.removeprefix("KURA_").lower().split("__")
    model: type[BaseModel] | None = Settings
    for i, part in enumerate(parts):
        if model is None or part not in model.model_fields:
            return False
        annotation = model.model_fields[part].annotation
        model = model_of(annotation) if i < len(parts) - 1 else None
    return True


def test_is_setting_walks_nested_groups() -> None:
    assert is_setting("KURA_DATA_DIR")
    assert is_setting("KURA_SEARCH__ES_HOSTS")
    assert not is_setting("KURA_SEARCH__NO_SUCH_FIELD")
    assert not is_setting("KURA_NOPE")
    assert not is_setting("KURA_DATA_DIR__X")


def test_every_kura_variable_is_a_setting() -> None:
    envs = kura_env()
    assert {"api", "worker", "beat"} <= {name for name, env in envs.items() if env}
    unknown = sorted({k for env in envs.values() for k in env if not is_setting(k)})
    assert unknown == [], f"not fields of api.config.Settings: {unknown}"


def test_api_worker_and_beat_share_the_same_settings() -> None:
    envs = kura_env()
    assert envs["api"] == envs["worker"] == envs["beat"]


def test_the_settings_select_the_real_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in kura_env()["api"].items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.records.backend == "mongodb"
    assert "replicaSet=rs0" in settings.records.mongo_uri
    assert settings.blobs.backend == "s3"
    assert settings.search.backend == "elasticsearch"
    assert settings.search.es_hosts == ["http://elasticsearch:9200"]
    assert settings.broker_url.startswith("redis://redis:6379")


def test_every_service_has_a_health_check_and_persistent_state() -> None:
    compose = load_compose()
    services = compose["services"]
    expected = {"mongo", "elasticsearch", "seaweedfs", "redis", "api", "worker", "beat"}
    assert expected <= set(services)
    for name in expected:
        assert "healthcheck" in services[name], name
    for name in ("mongo", "elasticsearch", "seaweedfs", "redis"):
        volumes = services[name].get("volumes", [])
        assert any(str(v).split(":")[0] in compose["volumes"] for v in volumes), name
    assert "--replSet" in services["mongo"]["command"]
    es_dockerfile = ROOT / services["elasticsearch"]["build"]["context"]
    text = (es_dockerfile / services["elasticsearch"]["build"]["dockerfile"]).read_text()
    assert "analysis-kuromoji" in text
    assert "analysis-icu" in text


def test_the_api_is_reached_only_through_a_tls_proxy() -> None:
    """Issue 12 §4 (seed 001 別表3 2(3), 4, 7): TLS 1.2+ only, HSTS, behind a reverse proxy."""
    compose = load_compose()
    services = compose["services"]
    assert "ports" not in services["api"]
    assert environment(services["api"])["FORWARDED_ALLOW_IPS"] == "*"
    proxy = services["proxy"]
    assert "healthcheck" in proxy
    assert any(str(p).endswith(":443") for p in proxy["ports"])
    caddyfile = compose["configs"]["caddyfile"]["content"]
    assert "protocols tls1.2 tls1.3" in caddyfile
    assert "Strict-Transport-Security" in caddyfile
    assert "reverse_proxy api:8000" in caddyfile
    volumes = [str(v).split(":")[0] for v in proxy["volumes"]]
    assert "caddy-data" in volumes
    assert "caddy-data" in compose["volumes"]
    # The keyring lives on the keys volume, outside the data folder.
    assert kura_env()["api"]["KURA_KEYS__KEYRING_FILE"].startswith("/keys/")
