"""One HTTP POST to a subscriber, with the standard library and a timeout.

Redirects are not followed (a 3xx is a failed attempt): a signed body is meant for the URL
the owner registered. Any answer other than 2xx, and any network error or timeout, is a
failure the dispatcher retries; 410 Gone says the endpoint is gone for good.

The host is resolved here, every address it resolves to is checked against the allowed
targets (:class:`ledger.webhooks.policy.Targets`: public addresses, and the networks the
operator lists), and the connection goes to the address that was checked, with the host
name kept for ``Host`` and TLS: a name that resolves to an internal address - at
registration or only later (DNS rebinding) - is never called.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from ledger.webhooks.policy import PUBLIC_ONLY, Targets

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
    def __init__(self, timeout_seconds: float = 10.0, targets: Targets = PUBLIC_ONLY) -> None:
        self.timeout = timeout_seconds
        self.targets = targets
        self._tls = ssl.create_default_context()

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            address = self._address(host, port)
        except (OSError, UnicodeError) as error:
            return Outcome(None, f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH])
        conn = self._connection(parts.scheme, host, port, address)
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

    def _address(self, host: str, port: int) -> str:
        """The address to connect to: the first the host resolves to, once every one of
        them is allowed (a refused one raises ``RefusedTargetError``)."""
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        for address in addresses:
            refused = self.targets.refusal(ipaddress.ip_address(address.split("%", 1)[0]))
            if refused is not None:
                raise RefusedTargetError(f"{host}: {refused}")
        if not addresses:
            raise RefusedTargetError(f"{host}: tidak ada alamat / resolves to no address")
        return addresses[0]

    def _connection(
        self, scheme: str, host: str, port: int, address: str
    ) -> http.client.HTTPConnection:
        if scheme == "https":
            return _PinnedHTTPSConnection(
                host, port, address, timeout=self.timeout, context=self._tls
            )
        return _PinnedHTTPConnection(host, port, address, timeout=self.timeout)


class RefusedTargetError(OSError):
    """The URL's host resolves to an address webhooks may not be sent to."""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked ``address``; ``host`` stays the name the URL gave."""

    def __init__(self, host: str, port: int, address: str, *, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As :class:`_PinnedHTTPConnection`, with TLS verified against the host name."""

    def __init__(
        self, host: str, port: int, address: str, *, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address
        self.tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
