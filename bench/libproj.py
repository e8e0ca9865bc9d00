"""The baseline: the eventsourcing library's own per-event ``ProjectionRunner``.

The library way to keep a view of an application's events (``eventsourcing.projection``):
a :class:`~eventsourcing.projection.Projection` whose ``process_event`` is called once per
event by a ``ProjectionRunner`` (a subscription thread pulls the notification log in pages of
500 and decodes each event with the application's mapper), writing through a tracking
recorder so that each event's view change and its tracking record commit together.

The job here is deliberately minimal, far less than our runner's: one status row per case
(upserted on every case event, with the case's version and log position), and for
non-case events only the tracking record. Each event is one transaction (upsert + tracking),
as the library's design prescribes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.conninfo import conninfo_to_dict
from psycopg.sql import SQL, Identifier

from ledger.application import LedgerStore
from ledger.core.events import CaseCancelled, CaseCompleted, LedgerEvent
from ledger.persistence.stores import eventsourcing_env
from ledger.settings import Settings

NAME = "bench_lib_status"
STATUS_TABLE = "bench_lib_case_status"
_STATUS = {CaseCompleted.TOPIC: "completed", CaseCancelled.TOPIC: "cancelled"}


class StatusRecorder(PostgresTrackingRecorder):
    """A tracking recorder that also keeps one status row per case."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        table = Identifier(self.datastore.schema), Identifier(STATUS_TABLE)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.{1} (case_id uuid PRIMARY KEY, "
                "status text NOT NULL, version bigint NOT NULL, position bigint NOT NULL)"
            ).format(*table)
        )
        self.upsert_statement = SQL(
            "INSERT INTO {0}.{1} (case_id, status, version, position) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (case_id) DO UPDATE SET status = EXCLUDED.status, "
            "version = EXCLUDED.version, position = EXCLUDED.position"
        ).format(*table)

    def upsert_status(self, case_id: Any, status: str, version: int, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self.upsert_statement,
                (case_id, status, version, tracking.notification_id),
                prepare=True,
            )
            self._insert_tracking(curs, tracking)


class StatusProjection(Projection[StatusRecorder]):
    name = NAME

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        event: LedgerEvent = domain_event
        if event.TOPIC.startswith("case."):
            status = _STATUS.get(event.TOPIC, "open")
            self.view.upsert_status(event.originator_id, status, event.originator_version, tracking)
        else:
            self.view.insert_tracking(tracking)


@dataclass(frozen=True, slots=True)
class LibraryResult:
    processed: int
    seconds: float
    head: int
    caught_up: bool
    status_rows: int

    @property
    def events_per_s(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0


def run_library(
    ledger_settings: Settings, views_url: str, head: int, budget_s: float
) -> LibraryResult:
    """Run the library's ProjectionRunner from position 0 for ``budget_s`` seconds (or
    until it has processed ``head``); the view lives in the database at ``views_url``."""
    prefix = NAME.upper()
    views = conninfo_to_dict(views_url)
    env = eventsourcing_env(ledger_settings) | {
        f"{prefix}_CREATE_TABLE": "y",
        f"{prefix}_POSTGRES_DBNAME": str(views["dbname"]),
    }
    started = time.perf_counter()
    runner: ProjectionRunner[LedgerStore, StatusRecorder] = ProjectionRunner(
        application_class=LedgerStore,
        projection_class=StatusProjection,
        view_class=StatusRecorder,
        env=env,
    )
    app_name = LedgerStore.name
    position = 0
    with runner:
        while True:
            time.sleep(0.25)
            position = runner.view.max_tracking_id(app_name) or 0
            elapsed = time.perf_counter() - started
            if position >= head or elapsed >= budget_s or runner.is_interrupted.is_set():
                break
        with runner.view.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT count(*) AS n FROM {}").format(Identifier(STATUS_TABLE)))
            found = curs.fetchone()
    rows = int(found["n"]) if found else 0
    return LibraryResult(position, elapsed, head, position >= head, rows)
