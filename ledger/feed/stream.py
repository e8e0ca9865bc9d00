"""The feed as Server-Sent Events: each event once, in log order, resumable by position.

Each SSE ``id`` is the event's log position, so a client that reconnects with
``Last-Event-ID`` continues right after the last event it saw: nothing lost, nothing
repeated. Reading runs in worker threads; waiting for new events is a plain asyncio wait on
the process's :class:`~ledger.feed.waiting.HeadWatcher`, so an idle stream holds no thread.
Idle streams get a comment line every ``heartbeat`` seconds, which keeps proxies from
closing them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio.to_thread
import orjson

from ledger.core.cloudevents import MAX_POSITION, CloudEvent, FeedFilter
from ledger.core.errors import InvalidFeedQueryError
from ledger.feed.service import Feed

RETRY_MILLISECONDS = 3_000
PAGE = 500
HEARTBEAT = b": heartbeat\n\n"


def frame(event: CloudEvent) -> bytes:
    """One SSE message: ``id`` = position, ``event`` = type, ``data`` = the CloudEvent."""
    head = f"id: {event['position']}\nevent: {event['type']}\ndata: ".encode()
    return head + orjson.dumps(event) + b"\n\n"


def resume_position(last_event_id: str | None, after: int | None, head: int) -> int:
    """Where a stream starts: after ``Last-Event-ID`` (a reconnect), else after ``after``,
    else at the head (only events recorded from now on)."""
    if last_event_id is not None and last_event_id.strip():
        text = last_event_id.strip()
        if not (text.isascii() and text.isdigit()) or int(text) > MAX_POSITION:
            raise InvalidFeedQueryError(
                f"Last-Event-ID harus posisi log / must be a log position, not {text!r}",
                field="Last-Event-ID",
            )
        return int(text)
    return head if after is None else after


async def sse_stream(
    feed: Feed, after: int, wanted: FeedFilter, heartbeat: float
) -> AsyncIterator[bytes]:
    """Events after ``after`` matching ``wanted``, then new ones as they are recorded."""
    yield f"retry: {RETRY_MILLISECONDS}\n\n".encode()
    position = after
    while True:
        page = await anyio.to_thread.run_sync(feed.reader.page, position, PAGE, wanted)
        if page.events:
            yield b"".join(frame(event) for event in page.events)
        position = page.next_after
        if position < page.head:
            continue
        if not await feed.watcher.wait_beyond(position, heartbeat):
            if feed.watcher.stopped:
                return
            yield HEARTBEAT
