"""The feed as the HTTP service holds it: a reader of the log and a watcher of its head."""

from __future__ import annotations

from ledger.application import LedgerBase
from ledger.feed.reader import FeedReader
from ledger.feed.waiting import HeadWatcher, LogWaiter


class Feed:
    def __init__(
        self, reader: FeedReader, watcher: HeadWatcher, heartbeat_seconds: float = 15.0
    ) -> None:
        self.reader = reader
        self.watcher = watcher
        self.heartbeat_seconds = heartbeat_seconds

    @classmethod
    def over(cls, ledger: LedgerBase, listen_url: str | None = None) -> Feed:
        """A feed of ``ledger``'s log; ``listen_url`` (PostgreSQL) waits on NOTIFY,
        None polls."""
        reader = FeedReader(ledger.store.recorder)
        return cls(reader, HeadWatcher(reader.head, LogWaiter(listen_url)))

    def open(self) -> None:
        self.watcher.reopen()

    def stop(self) -> None:
        """Ends the event streams too (they see the watcher stopped)."""
        self.watcher.stop()
