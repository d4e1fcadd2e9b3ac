"""docs/alerts.yml (issue 12 §4: example alert rules) parses as Prometheus rule groups, every
rule has a name, an expression and a summary, and every ``kura_*`` metric an expression names
is one that ``/metrics`` serves (its ``# TYPE`` line), so a renamed metric cannot leave a rule
that silently never fires."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import yaml

from api.app import create_app
from api.config import Settings
from api.container import Container

pytestmark = pytest.mark.anyio

RULES = Path(__file__).resolve().parents[2] / "docs" / "alerts.yml"
# Series a metric family exposes besides its own name (counters, histograms).
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")
# Metrics of other exporters the rules may use.
FOREIGN = {"probe_ssl_earliest_cert_expiry"}


def rules() -> list[dict[str, object]]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    out = []
    for group in data["groups"]:
        assert group["name"]
        out += group["rules"]
    return out


def test_every_rule_is_complete() -> None:
    found = rules()
    assert len(found) >= 10
    names = [r["alert"] for r in found]
    assert len(set(names)) == len(names)
    for rule in found:
        assert isinstance(rule["expr"], str)
        assert rule["expr"].count("(") == rule["expr"].count(")")
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        assert annotations["summary"]
        labels = rule["labels"]
        assert isinstance(labels, dict)
        assert labels["severity"] in ("critical", "warning", "info")


async def test_every_metric_a_rule_names_exists(settings: Settings) -> None:
    container = Container(settings)
    await container.open()
    try:
        app = create_app(settings, container=container)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get("/healthz")
            text = (await client.get("/metrics")).text
    finally:
        await container.close()
    families = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    named = set()
    for rule in rules():
        named |= set(re.findall(r"\b((?:kura|probe)_[a-z0-9_]+)", str(rule["expr"])))
    # What the issue asks to alert on is covered.
    for wanted in (
        "kura_jobs_failed",
        "kura_mail_dead",
        "kura_data_disk_free_bytes",
        "kura_backup_last_success_timestamp_seconds",
        "kura_certificate_expiry_timestamp_seconds",
    ):
        assert wanted in named, wanted
    for metric in sorted(named - FOREIGN):
        base = metric
        for suffix in SUFFIXES:
            if base.endswith(suffix) and base[: -len(suffix)] in families:
                base = base[: -len(suffix)]
        assert base in families, f"docs/alerts.yml names {metric}, which /metrics does not serve"
