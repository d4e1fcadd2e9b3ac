"""Prometheus metrics in a registry owned by one app (tests build many apps side by side)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds; fine at the low end where API calls live, a few buckets for slow exports.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The HTTP request metrics and backend health gauges of one application."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("method", "route", "status")
        self.requests = Counter(
            "kura_http_requests",
            "HTTP requests served, by method, route template and status.",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "kura_http_request_duration_seconds",
            "Time to serve an HTTP request, by method, route template and status.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "kura_http_requests_in_flight",
            "HTTP requests being served now.",
            registry=self.registry,
        )
        self.backend_up = Gauge(
            "kura_backend_up",
            "1 if the backend answered its last health check, else 0.",
            ("name", "backend"),
            registry=self.registry,
        )

        # What an operator alerts on (issue 12 §4), refreshed at each scrape (api.ops.router).
        self.jobs_failed = Gauge(
            "kura_jobs_failed", "Jobs whose last attempt failed.", registry=self.registry
        )
        self.mail_dead = Gauge(
            "kura_mail_dead",
            "Mails given up after their retries (dead letters).",
            registry=self.registry,
        )
        self.disk_free = Gauge(
            "kura_data_disk_free_bytes",
            "Free bytes on the disk of the data folder.",
            registry=self.registry,
        )
        self.backup_last = Gauge(
            "kura_backup_last_success_timestamp_seconds",
            "Unix time of the newest complete backup generation (0: none; absent: no target).",
            registry=self.registry,
        )

        self.backup_generations = Gauge(
            "kura_backup_generations",
            "Complete backup generations kept in the target.",
            registry=self.registry,
        )
        self.backup_listed_at = float("-inf")  # a bucket is listed at most every few minutes
        self.kek_created = Gauge(
            "kura_kek_created_timestamp_seconds",
            "Unix time the current key-encryption key was made (its age: rotate it).",
            registry=self.registry,
        )
        self.cert_expiry = Gauge(
            "kura_certificate_expiry_timestamp_seconds",
            "Unix time a certificate stops being valid (kind: tls, trust_anchor; file).",
            ("kind", "file"),
            registry=self.registry,
        )
        self.crl_next_update = Gauge(
            "kura_crl_next_update_timestamp_seconds",
            "Unix time by which a bonds' CRL file must be replaced by a newer one.",
            ("file",),
            registry=self.registry,
        )
        self.bond_cert_expiry = Gauge(
            "kura_bond_certificate_earliest_expiry_timestamp_seconds",
            "Unix time the first active bond issuer certificate expires (+Inf: none active).",
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)
