"""``GET /events/stream`` through a real uvicorn server: Server-Sent Events that resume from
``Last-Event-ID`` with nothing lost or repeated, follow new events live, and beat when idle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import orjson
import pytest

from api.app import create_app
from api.auth import Scope
from ledger.bootstrap import build_feed
from ledger.core.cloudevents import FeedFilter
from ledger.feed.reader import FeedReader
from ledger.feed.service import Feed
from ledger.ledger import Ledger
from support.auth import auth_header, issue_token
from support.live_server import live_server
from support.webhooks import A_SOP, A_UNIT, open_cases, settings_of

OPENED = "id.go.sumbarprov.sop.case.opened.v1"


@dataclass
class Message:
    id: str | None = None
    event: str | None = None
    data: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    @property
    def cloud_event(self) -> dict[str, object]:
        loaded: dict[str, object] = orjson.loads("\n".join(self.data))
        return loaded


def messages(response: httpx.Response) -> Iterator[Message]:
    """Parse ``text/event-stream`` as a browser would, one message per blank line."""
    current = Message()
    for line in response.iter_lines():
        if line == "":
            yield current
            current = Message()
        elif line.startswith(":"):
            current.comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                current.data.append(value)
            elif name in ("id", "event"):
                setattr(current, name, value)


@dataclass
class Stream:
    base: str
    headers: dict[str, str]
    feed: Feed

    def take(
        self, count: int, *, params: dict[str, object], last_id: str | None = None
    ) -> list[Message]:
        """The first ``count`` event messages of a new connection, then disconnect."""
        headers = dict(self.headers)
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        found: list[Message] = []
        timeout = httpx.Timeout(10.0)
        with httpx.stream(
            "GET", f"{self.base}/events/stream", params=params, headers=headers, timeout=timeout
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for message in messages(response):
                if message.id is not None:
                    found.append(message)
                if len(found) == count:
                    break
        return found


@contextmanager
def serving(ledger: Ledger) -> Iterator[Stream]:
    feed = build_feed(settings_of(ledger), ledger)
    feed.heartbeat_seconds = 0.3
    token = issue_token(ledger, "198203142006042003", Scope.INTEGRATOR)
    with live_server(create_app(ledger, feed=feed)) as base:
        yield Stream(base, auth_header(token), feed)


def test_a_stream_resumes_after_last_event_id_without_loss_or_repeats(ledger: Ledger) -> None:
    start = ledger.max_position()
    open_cases(ledger, 5)
    with serving(ledger) as stream:
        first = stream.take(2, params={"after": start})
        open_cases(ledger, 3)  # recorded while disconnected
        rest = stream.take(6, params={"after": start}, last_id=first[-1].id)
    received = first + rest
    positions = [int(m.id or 0) for m in received]
    expected = FeedReader(ledger.store.recorder).page(start, 100, FeedFilter.of([OPENED]))
    assert positions == [e["position"] for e in expected.events]  # the token's is not sent
    assert len(positions) == 8
    for message in received:
        event = message.cloud_event
        assert str(event["position"]) == message.id
        assert event["type"] == message.event == OPENED
        assert event["specversion"] == "1.0"


def test_new_events_arrive_live_and_idle_streams_beat(ledger: Ledger) -> None:
    with serving(ledger) as stream:
        headers = dict(stream.headers)
        timeout = httpx.Timeout(10.0)
        with httpx.stream(
            "GET", f"{stream.base}/events/stream", headers=headers, timeout=timeout
        ) as response:
            incoming = messages(response)
            opening = next(incoming)  # the retry hint
            beat = next(incoming)
            assert beat.comments == ["heartbeat"]
            assert beat.id is None
            (case_id,) = open_cases(ledger, 1)  # from now on: nothing older is sent
            live = next(m for m in incoming if m.id is not None)
        assert opening.id is None
        assert live.cloud_event["subject"] == str(case_id)
        assert int(live.id or 0) == ledger.max_position()


@pytest.mark.parametrize("resume", ["after", "last-event-id"])
def test_filters_apply_to_the_stream_and_its_resumption(ledger: Ledger, resume: str) -> None:
    start = ledger.max_position()
    open_cases(ledger, 2)
    a_cases = open_cases(ledger, 3, A_SOP, A_UNIT)
    params: dict[str, object] = {"sop_id": A_SOP, "after": start}
    with serving(ledger) as stream:
        (first,) = stream.take(1, params=params)
        if resume == "after":
            rest = stream.take(2, params={**params, "after": first.id})
        else:
            rest = stream.take(2, params=params, last_id=first.id)
    subjects = [m.cloud_event["subject"] for m in (first, *rest)]
    assert subjects == [str(c) for c in a_cases]
