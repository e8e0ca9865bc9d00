"""Prometheus metrics of one app: HTTP traffic, appends, webhook deliveries, log and lag.

Every app owns its registry (tests build many apps in one process, and the library's global
registry would refuse the second set of names). The log position and the projection lag are
read when Prometheus scrapes, from callables, so they are never stale and cost nothing
between scrapes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger(__name__)
T = TypeVar("T")

UNMATCHED = "unmatched"  # the route label of requests that matched no route
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LogPosition = Callable[[], int]
ProjectionLags = Callable[[], Mapping[str, int]]


def no_projections() -> Mapping[str, int]:
    return {}


class _ScrapeTimeGauges:
    """The gauges read from the ledger and the views at scrape time.

    A failing source (the database is down) drops its gauge from that scrape, logged, rather
    than failing the whole scrape: the HTTP counters are still worth collecting.
    """

    def __init__(self, log_position: LogPosition, projection_lags: ProjectionLags) -> None:
        self._log_position = log_position
        self._projection_lags = projection_lags

    def collect(self) -> Iterator[Metric]:
        position = _read(self._log_position, "ledger_log_position")
        if position is not None:
            gauge = GaugeMetricFamily(
                "ledger_log_position", "Position of the last event in the ledger's log."
            )
            gauge.add_metric([], position)
            yield gauge
        lags = _read(self._projection_lags, "projection_lag_events")
        if lags is not None:
            gauge = GaugeMetricFamily(
                "projection_lag_events",
                "Events in the log that a projection has not applied yet.",
                labels=["projection"],
            )
            for projection, lag in sorted(lags.items()):
                gauge.add_metric([projection], lag)
            yield gauge


def _read(source: Callable[[], T], name: str) -> T | None:
    try:
        return source()
    except Exception:
        log.warning("metric %s unavailable for this scrape", name, exc_info=True)
        return None


class Metrics:
    """The metrics of one app, and the few methods the code that moves them calls."""

    def __init__(
        self, log_position: LogPosition, projection_lags: ProjectionLags = no_projections
    ) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "http_request_duration_seconds",
            "Time from request to the end of the response, by route template.",
            ["method", "route"],
            registry=self.registry,
        )
        self._appends = Counter(
            "ledger_appends_total",
            "Commands appended to the ledger, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self._append_events = Counter(
            "ledger_append_events_total",
            "Events appended to the ledger.",
            registry=self.registry,
        )
        self._deliveries = Counter(
            "webhook_deliveries_total",
            "Webhook delivery attempts, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.registry.register(_ScrapeTimeGauges(log_position, projection_lags))

    def observed(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answered request; ``route`` is the template (``/cases/{case_id}``)."""
        self._requests.labels(method, route, str(status)).inc()
        self._duration.labels(method, route).observe(seconds)

    def appended(self, kind: str, events: int) -> None:
        """One command of ``kind`` (open, record, batch, ...) appended ``events`` events."""
        self._appends.labels(kind).inc()
        self._append_events.inc(events)

    def delivered(self, outcome: str) -> None:
        """One webhook delivery attempt ended with ``outcome`` (delivered, failed, ...)."""
        self._deliveries.labels(outcome).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition (format 0.0.4) of everything above."""
        return generate_latest(self.registry)
