"""Subscription URLs and the retry schedule (exponential backoff, full jitter)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.core.errors import InvalidSubscriptionError
from ledger.webhooks.policy import RetryPolicy, Targets, checked_description, checked_url


@pytest.mark.parametrize(
    "url",
    [
        "https://esr.example.go.id/hooks/sop-ledger",
        "http://203.0.113.9.nip.example/hook?x=1",
        "https://[2001:4860:4860::8888]:8443/",
        "http://8.8.8.8/hook",
    ],
)
def test_http_and_https_urls_are_accepted(url: str) -> None:
    assert checked_url(url) == url


INTERNAL = [
    "http://127.0.0.1:8080/hook?x=1",  # loopback
    "https://[::1]:8443/",
    "http://10.1.2.3/",  # private
    "http://192.168.0.10/",
    "http://172.16.5.5/",
    "http://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
    "http://[fe80::1]/",
    "http://0.0.0.0/",  # unspecified
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://[::ffff:127.0.0.1]/",  # loopback written as IPv6
    "http://224.0.0.1/",  # multicast
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused_on_the_url_field(url: str) -> None:
    with pytest.raises(InvalidSubscriptionError) as refused:
        checked_url(url)
    assert refused.value.field == "url"
    assert "LEDGER_WEBHOOK_ALLOWED_NETWORKS" in str(refused.value)


def test_a_network_the_operator_allows_is_accepted_and_only_that_one() -> None:
    targets = Targets.of(["127.0.0.0/8", "10.20.0.0/16"])
    assert checked_url("http://127.0.0.1:8080/hook", targets) == "http://127.0.0.1:8080/hook"
    assert checked_url("http://10.20.3.4/hook", targets) == "http://10.20.3.4/hook"
    assert checked_url("http://[::ffff:10.20.3.4]/", targets) == "http://[::ffff:10.20.3.4]/"
    for url in ("http://10.21.0.1/", "http://169.254.169.254/", "https://[::1]/"):
        with pytest.raises(InvalidSubscriptionError):
            checked_url(url, targets)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.go.id/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.go.id/hook",
        "https://",
        "https://user:pw@example.go.id/",
        "https://example.go.id/a b",
        "https://example.go.id:99999/",
        "https://example.go.id/#frag",
        "https://example.go.id/" + "x" * 2100,
    ],
)
def test_other_urls_are_refused_on_the_url_field(url: str) -> None:
    with pytest.raises(InvalidSubscriptionError) as refused:
        checked_url(url)
    assert refused.value.field == "url"


def test_descriptions_are_trimmed_and_bounded() -> None:
    assert checked_description("  ESR  ") == "ESR"
    assert checked_description("   ") is None
    with pytest.raises(InvalidSubscriptionError):
        checked_description("x" * 501)


def test_ceilings_double_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60, max_attempts=8)
    assert [policy.ceiling(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert not policy.exhausted(7)
    assert policy.exhausted(8)


@given(
    attempts=st.integers(min_value=1, max_value=10_000),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_full_jitter_stays_within_zero_and_the_ceiling(attempts: int, draw: float) -> None:
    policy = RetryPolicy(base_seconds=0.5, cap_seconds=300, max_attempts=20)
    delay = policy.delay(attempts, lambda: draw)
    assert 0 <= delay <= policy.ceiling(attempts) <= 300
