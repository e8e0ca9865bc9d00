"""Standard Webhooks signatures: the spec's own test vector, secrets, verification."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from ledger.webhooks import signing

# From the Standard Webhooks reference libraries' tests.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_reference_test_vector() -> None:
    assert (
        signing.signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
        == VECTOR_SIGNATURE
    )


def test_new_secrets_are_whsec_base64_of_32_random_bytes() -> None:
    first, second = signing.new_secret(), signing.new_secret()
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    assert first != second


def test_signature_is_hmac_sha256_over_id_timestamp_body() -> None:
    secret = signing.new_secret()
    body = b'{"a":1}'
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, b"evt-1.1700000000." + body, hashlib.sha256).digest()
    headers = signing.headers(secret, "evt-1", 1_700_000_000, body)
    assert headers == {
        "webhook-id": "evt-1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1," + base64.b64encode(expected).decode(),
    }


def test_verify_accepts_a_good_signature_among_several() -> None:
    secret = signing.new_secret()
    headers = signing.headers(secret, "evt-1", 1000, b"{}")
    headers["webhook-signature"] = "v1,bm90LWl0 " + headers["webhook-signature"]
    signing.verify(secret, headers, b"{}", now=1100)


@pytest.mark.parametrize(
    ("body", "now", "secret_of_other"),
    [(b"{ }", 1000, False), (b"{}", 1000 + 301, False), (b"{}", 1000, True)],
    ids=["changed-body", "too-old", "other-secret"],
)
def test_verify_refuses(body: bytes, now: int, secret_of_other: bool) -> None:
    secret = signing.new_secret()
    headers = signing.headers(secret, "evt-1", 1000, b"{}")
    with pytest.raises(signing.SignatureError):
        signing.verify(signing.new_secret() if secret_of_other else secret, headers, body, now)


def test_verify_refuses_missing_headers() -> None:
    with pytest.raises(signing.SignatureError):
        signing.verify(signing.new_secret(), {"webhook-id": "x"}, b"{}", now=0)
