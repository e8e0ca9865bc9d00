"""One HTTP POST to a subscriber, with the standard library and a timeout.

Redirects are not followed (a 3xx is a failed attempt): a signed body is meant for the URL
the owner registered. Any answer other than 2xx, and any network error or timeout, is a
failure the dispatcher retries; 410 Gone says the endpoint is gone for good.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

USER_AGENT = "sop-ledger-webhooks/0.1"
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None  # None: no HTTP answer (network error, timeout)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410

    def describe(self) -> str:
        if self.status is None:
            return self.error or "no answer"
        return f"HTTP {self.status}" + (f": {self.error}" if self.error else "")


class Sender(Protocol):
    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome: ...


class HttpSender:
    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self.timeout = timeout_seconds
        self._tls = ssl.create_default_context()

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = self._connection(parts.scheme, parts.hostname or "", parts.port)
        try:
            conn.request(
                "POST",
                target,
                body=body,
                headers={"User-Agent": USER_AGENT, "Content-Length": str(len(body)), **headers},
            )
            response = conn.getresponse()
            snippet = response.read(MAX_ERROR_LENGTH).decode("utf-8", "replace").strip()
            ok = 200 <= response.status < 300
            return Outcome(response.status, None if ok else snippet or response.reason)
        except (OSError, http.client.HTTPException) as error:
            return Outcome(None, f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH])
        finally:
            conn.close()

    def _connection(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._tls)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)
