"""The global event log for other systems: CloudEvents pages and a Server-Sent Events stream."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from api.auth import Principal, Scope, require
from api.problems import problems
from ledger.core.cloudevents import BATCH_MEDIA_TYPE, MAX_POSITION, FeedFilter
from ledger.feed.service import Feed
from ledger.feed.stream import resume_position, sse_stream

router = APIRouter(tags=["events"], responses=problems(401, 403, 422))
Integrator = Annotated[Principal, Depends(require(Scope.INTEGRATOR, Scope.INSPECTOR, Scope.ADMIN))]
MAX_LIMIT = 1000


def get_feed(request: Request) -> Feed:
    feed: Feed = request.app.state.feed
    return feed


FeedDep = Annotated[Feed, Depends(get_feed)]
Types = Annotated[
    list[str] | None,
    Query(
        alias="type",
        description="jenis CloudEvents persis, boleh berulang / exact CloudEvents type, repeatable",
        examples=["id.go.sumbarprov.sop.case.signing.v1"],
    ),
]
SopId = Annotated[
    str | None,
    Query(description="hanya kasus SOP ini / only cases of this SOP; non-case events excluded"),
]
Unit = Annotated[
    str | None,
    Query(description="hanya kasus unit ini / only cases of this unit; non-case events excluded"),
]

_EXAMPLE_EVENT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "0f9d6a52-8c1e-4b7e-9a61-3f3c2f0f5e21",
    "source": "/sop-ledger/sumbarprov",
    "type": "id.go.sumbarprov.sop.case.signing.v1",
    "subject": "5b0e7c1a-2d44-5e6f-8a9b-0c1d2e3f4a5b",
    "time": "2024-10-07T03:15:00+00:00",
    "datacontenttype": "application/json",
    "sequence": "00000000000000000042",
    "position": 42,
    "data": {
        "event_id": "0f9d6a52-8c1e-4b7e-9a61-3f3c2f0f5e21",
        "recorded_at": "2024-10-07T03:15:00+00:00",
        "step": 8,
        "actor": "197305131997032005",
        "signature_ref": "TTE-BSrE/2024/1187",
        "schema_version": 1,
    },
}
_FEED_HEADERS = {
    "Link": {"description": 'the next page: `</events?after=N&...>; rel="next"`'},
    "Ledger-Next-After": {"description": "the `after` of the next page (positions covered)"},
    "Ledger-Head": {"description": "the last log position when this page was read"},
}


@router.get(
    "/events",
    summary="Log peristiwa sebagai CloudEvents / the event log as CloudEvents",
    response_class=Response,
    responses={
        200: {
            "description": "CloudEvents 1.0 JSON batch, in log order",
            "headers": _FEED_HEADERS,
            "content": {BATCH_MEDIA_TYPE: {"example": [_EXAMPLE_EVENT]}},
        }
    },
)
def events(
    request: Request,
    feed: FeedDep,
    _who: Integrator,
    after: Annotated[
        int,
        Query(ge=0, le=MAX_POSITION, description="posisi log terakhir yang sudah dibaca"),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    types: Types = None,
    sop_id: SopId = None,
    unit: Unit = None,
) -> Response:
    """Events after position ``after`` in log order (``sequence``/``position`` = log
    position). Follow ``Link: rel="next"`` (or ``Ledger-Next-After``) for the next page; a
    page shorter than ``limit`` means the reader has caught up with ``Ledger-Head``."""
    page = feed.reader.page(after, limit, FeedFilter.of(types or (), sop_id, unit))
    following = request.url.include_query_params(after=page.next_after)
    headers = {
        "Link": f'<{following.path}?{following.query}>; rel="next"',
        "Ledger-Next-After": str(page.next_after),
        "Ledger-Head": str(page.head),
        "Cache-Control": "no-store",
    }
    return Response(orjson.dumps(page.events), media_type=BATCH_MEDIA_TYPE, headers=headers)


@router.get(
    "/events/stream",
    summary="Aliran peristiwa (SSE) / event stream (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`id:` = log position, `event:` = CloudEvents type, "
            "`data:` = the CloudEvent; `: heartbeat` comments while idle",
            "content": {
                "text/event-stream": {
                    "example": "id: 42\nevent: id.go.sumbarprov.sop.case.signing.v1\n"
                    'data: {"specversion":"1.0","id":"0f9d6a52-...","position":42,...}\n\n'
                }
            },
        }
    },
)
async def stream(
    feed: FeedDep,
    _who: Integrator,
    after: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_POSITION,
            description="mulai setelah posisi ini / start after; default: from now",
        ),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="melanjutkan / resume after this position"),
    ] = None,
    types: Types = None,
    sop_id: SopId = None,
    unit: Unit = None,
) -> StreamingResponse:
    """Matching events after ``Last-Event-ID`` (reconnects), else ``after``, else from now,
    then each new one as it is recorded."""
    wanted = FeedFilter.of(types or (), sop_id, unit)
    head = await anyio.to_thread.run_sync(feed.reader.head)
    start = resume_position(last_event_id, after, head)
    return StreamingResponse(
        sse_stream(feed, start, wanted, feed.heartbeat_seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
