"""What a subscription may be and how often a failing endpoint is tried again; no I/O."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ledger.core.errors import InvalidSubscriptionError

MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Targets:
    """Which addresses webhooks may be sent to: public ones, and those in ``allowed``.

    Deliveries are made by the ledger's own host, so a URL naming a loopback, private,
    link-local (cloud metadata) or otherwise non-public address would let a subscriber
    make the ledger call into its own network. Those are refused unless the operator
    lists the network (``LEDGER_WEBHOOK_ALLOWED_NETWORKS``, e.g. an integration VLAN)."""

    allowed: tuple[Network, ...] = ()

    @classmethod
    def of(cls, networks: Iterable[str]) -> Targets:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def refusal(self, address: Address) -> str | None:
        """Why ``address`` may not be called (None: it may)."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allowed):
            return None
        if address.is_global and not address.is_multicast:
            return None
        return (
            f"alamat {address} bukan alamat publik / {address} is not a public address "
            "(loopback, private, link-local or reserved); allow its network with "
            "LEDGER_WEBHOOK_ALLOWED_NETWORKS"
        )


PUBLIC_ONLY = Targets()


def checked_url(url: str, targets: Targets = PUBLIC_ONLY) -> str:
    """An absolute http(s) URL with a host and no credentials in it, else a refusal. A
    host written as an address must be one ``targets`` allows; a host name is checked
    when a delivery resolves it (``ledger.webhooks.sender``)."""
    text = url.strip()
    if not text or len(text) > MAX_URL_LENGTH or any(c.isspace() for c in text):
        raise _bad_url(
            f"URL kosong, terlalu panjang atau berspasi / empty, too long or with spaces: {url!r}"
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        raise _bad_url(f"URL tidak dapat dibaca / unreadable URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise _bad_url(
            f"skema harus http atau https / scheme must be http or https, not {parts.scheme!r}"
        )
    if not parts.hostname:
        raise _bad_url("URL tanpa host / URL has no host")
    if parts.username is not None or parts.password is not None:
        raise _bad_url("kredensial di URL tidak diizinkan / credentials in the URL are refused")
    if parts.fragment:
        raise _bad_url("fragmen (#) tidak diizinkan / fragments (#) are refused")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return text
    refused = targets.refusal(literal)
    if refused is not None:
        raise _bad_url(refused)
    return text


def _bad_url(message: str) -> InvalidSubscriptionError:
    return InvalidSubscriptionError(message, field="url")


def checked_description(description: str | None) -> str | None:
    if description is None:
        return None
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidSubscriptionError(
            f"deskripsi terlalu panjang / description longer than {MAX_DESCRIPTION_LENGTH}",
            field="description",
        )
    return description.strip() or None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n (1-based) failed, so wait a uniform
    random time in [0, min(cap, base * 2**(n-1))]; after ``max_attempts`` the delivery fails
    and the subscription moves on (the failure stays listed and can be redelivered)."""

    base_seconds: float = 5.0
    cap_seconds: float = 3600.0
    max_attempts: int = 10

    def ceiling(self, attempts: int) -> float:
        """The longest wait after ``attempts`` failed attempts."""
        exponent = min(max(attempts - 1, 0), 62)
        return float(min(self.cap_seconds, self.base_seconds * 2**exponent))

    def delay(self, attempts: int, random: Callable[[], float]) -> float:
        """The wait before the next attempt; ``random()`` is uniform in [0, 1)."""
        return random() * self.ceiling(attempts)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
