"""Operations over HTTP: Prometheus metrics, request ids, JSON request logs, streaming."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime

import anyio
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message

from api.app import create_app
from api.metrics import Metrics
from api.observability import JsonFormatter, RequestObservability
from ledger.core.errors import UnknownSopError
from ledger.ledger import Ledger

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    with TestClient(create_app(ledger)) as built:
        yield built


@pytest.fixture
def request_log() -> Iterator[io.StringIO]:
    """The request log lines, rendered by the JSON formatter."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("api.requests")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, keyed by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def logged(lines: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in lines.getvalue().splitlines()]


# --- metrics --------------------------------------------------------------------------------


def test_with_a_metrics_token_only_a_scraper_holding_it_reads_metrics(ledger: Ledger) -> None:
    with TestClient(create_app(ledger, metrics_token="scrape-me-7f3a")) as guarded:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            refused = guarded.get("/metrics", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["www-authenticate"].startswith("Bearer")
            problem = refused.json()
            assert problem["type"].endswith("/unauthenticated")
            assert problem["field"] == "Authorization"
            assert "metrics" in problem["detail"]
        allowed = guarded.get("/metrics", headers={"Authorization": "Bearer scrape-me-7f3a"})
        assert allowed.status_code == 200
        assert "ledger_log_position" in allowed.text
        assert guarded.get("/healthz").status_code == 200  # health checks stay open


def test_request_counter_moves_by_exactly_the_requests_made(client: TestClient) -> None:
    healthz = key("http_requests_total", method="GET", route="/healthz", status="200")
    before = scrape(client).get(healthz, 0.0)
    for _ in range(2):
        assert client.get("/healthz").status_code == 200
    assert scrape(client)[healthz] == before + 2


def test_routes_are_labelled_by_template_never_by_raw_path(client: TestClient) -> None:
    raw = "/cases/0b5c4c59-1d6b-4f55-8a5e-3c2d1f0e9a71"
    client.get(raw)
    client.get("/no/such/route")
    text = client.get("/metrics").text
    after = samples(text)
    by_template = [
        value
        for (name, labels), value in after.items()
        if name == "http_requests_total" and ("route", "/cases/{case_id}") in labels
    ]
    assert sum(by_template) == 1
    assert after[key("http_requests_total", method="GET", route="unmatched", status="404")] == 1
    assert raw not in text
    assert "/no/such/route" not in text


def test_duration_histogram_has_buckets(client: TestClient) -> None:
    client.get("/healthz")
    after = scrape(client)
    labels = {"method": "GET", "route": "/healthz"}
    assert after[key("http_request_duration_seconds_bucket", le="+Inf", **labels)] == 1
    assert after[key("http_request_duration_seconds_count", **labels)] == 1
    buckets = [
        dict(labels_)["le"]
        for (name, labels_), _ in after.items()
        if name == "http_request_duration_seconds_bucket" and ("route", "/healthz") in labels_
    ]
    assert len(buckets) > 5


def test_log_position_gauge_is_the_ledgers_last_position(
    client: TestClient, ledger: Ledger
) -> None:
    position = ledger.max_position()
    assert position > 0
    assert scrape(client)[key("ledger_log_position")] == position


def test_append_and_delivery_counters_and_scrape_time_lag() -> None:
    lags = {"case_views": 7}
    metrics = Metrics(lambda: 42, lambda: lags)
    metrics.appended("record", 1)
    metrics.appended("batch", 5)
    metrics.delivered("delivered")
    metrics.delivered("delivered")
    metrics.delivered("failed")
    lags["case_views"] = 3  # read when scraped, not when built
    after = samples(metrics.render().decode())
    assert after[key("ledger_appends_total", kind="record")] == 1
    assert after[key("ledger_appends_total", kind="batch")] == 1
    assert after[key("ledger_append_events_total")] == 6
    assert after[key("webhook_deliveries_total", outcome="delivered")] == 2
    assert after[key("webhook_deliveries_total", outcome="failed")] == 1
    assert after[key("ledger_log_position")] == 42
    assert after[key("projection_lag_events", projection="case_views")] == 3


def test_a_failing_gauge_source_leaves_the_rest_of_the_scrape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def down() -> int:
        raise ConnectionError("database down")

    metrics = Metrics(down)
    metrics.appended("open", 1)
    with caplog.at_level(logging.WARNING, logger="api.metrics"):
        after = samples(metrics.render().decode())
    assert key("ledger_log_position") not in after
    assert after[key("ledger_appends_total", kind="open")] == 1
    assert "ledger_log_position unavailable" in caplog.text


# --- request ids ----------------------------------------------------------------------------


def test_a_sane_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123.x_Y"})
    assert response.headers["X-Request-ID"] == "abc-123.x_Y"


def test_a_missing_request_id_is_generated(client: TestClient) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert HEX_ID.fullmatch(first)
    assert HEX_ID.fullmatch(second)
    assert first != second


@pytest.mark.parametrize("offered", ["has space", "new\tline", "x" * 129, "semi;colon", ""])
def test_an_insane_request_id_is_replaced(client: TestClient, offered: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": offered})
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])


# --- logs -----------------------------------------------------------------------------------


def test_one_json_log_line_per_request(client: TestClient, request_log: io.StringIO) -> None:
    client.get("/healthz", headers={"X-Request-ID": "req-1"})
    client.get("/no/such/route", headers={"X-Request-ID": "req-2"})
    first, second = logged(request_log)
    assert first["msg"] == "request"
    assert first["level"] == "INFO"
    assert first["logger"] == "api.requests"
    assert first["request_id"] == "req-1"
    assert (first["method"], first["path"], first["route"], first["status"]) == (
        "GET",
        "/healthz",
        "/healthz",
        200,
    )
    assert isinstance(first["duration_ms"], float)
    assert first["duration_ms"] >= 0
    assert first["client"] == "testclient"
    stamp = str(first["ts"])
    assert stamp.endswith("Z")
    assert datetime.fromisoformat(stamp).utcoffset() is not None
    assert (second["request_id"], second["route"], second["status"]) == ("req-2", "unmatched", 404)


def test_formatter_renders_extras_and_exceptions() -> None:
    record = logging.makeLogRecord(
        {"name": "x", "levelno": logging.ERROR, "levelname": "ERROR", "msg": "a %s", "args": ("b",)}
    )
    record.case_id = "c-1"
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["msg"], entry["level"], entry["case_id"]) == ("a b", "ERROR", "c-1")
    assert "ValueError: boom" in entry["exc_info"]
    assert "request_id" not in entry  # logged outside any request


# --- problems -------------------------------------------------------------------------------


@pytest.fixture
def failing_client(ledger: Ledger) -> Iterator[TestClient]:
    """The real app plus routes that fail in each way a request can."""
    app = create_app(ledger)

    @app.get("/test/domain-error")
    def domain_error() -> None:
        raise UnknownSopError("no such SOP")

    @app.get("/test/needs-int")
    def needs_int(n: int) -> int:
        return n

    @app.get("/test/crash")
    def crash() -> None:
        raise RuntimeError("bug")

    with TestClient(app, raise_server_exceptions=False) as built:
        yield built


@pytest.mark.parametrize(
    ("path", "status"),
    [("/test/domain-error", 404), ("/test/needs-int?n=x", 422), ("/test/crash", 500)],
)
def test_problems_carry_the_request_id(failing_client: TestClient, path: str, status: int) -> None:
    response = failing_client.get(path, headers={"X-Request-ID": "prob-1"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["X-Request-ID"] == "prob-1"
    assert response.json()["request_id"] == "prob-1"


def test_a_crash_is_logged_once_with_its_traceback_and_counted(
    failing_client: TestClient, request_log: io.StringIO
) -> None:
    failing_client.get("/test/crash", headers={"X-Request-ID": "crash-1"})
    (entry,) = logged(request_log)
    assert (entry["level"], entry["status"], entry["request_id"]) == ("ERROR", 500, "crash-1")
    assert "RuntimeError: bug" in str(entry["exc_info"])
    after = samples(failing_client.get("/metrics").text)
    assert after[key("http_requests_total", method="GET", route="/test/crash", status="500")] == 1


# --- streaming ------------------------------------------------------------------------------


def test_streamed_responses_pass_through_chunk_by_chunk() -> None:
    """The first chunk reaches the server before the generator is allowed to finish."""
    first_chunk_sent = anyio.Event()
    sent: list[Message] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b"data: one\n\n"
        with anyio.fail_after(5):  # a buffering middleware would never get here in time
            await first_chunk_sent.wait()
        yield b"data: two\n\n"

    app = FastAPI()
    app.add_middleware(RequestObservability, metrics=Metrics(lambda: 0))

    @app.get("/events")
    async def events() -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="text/event-stream")

    async def receive() -> Message:
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    async def send(message: Message) -> None:
        sent.append(message)
        if message.get("body") == b"data: one\n\n":
            first_chunk_sent.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/events",
        "raw_path": b"/events",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }
    anyio.run(app, scope, receive, send)
    bodies = [m.get("body", b"") for m in sent if m["type"] == "http.response.body"]
    assert b"".join(bodies) == b"data: one\n\ndata: two\n\n"
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert any(name.lower() == b"x-request-id" for name, _ in start["headers"])
