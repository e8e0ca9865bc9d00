"""C2SP signed notes and checkpoints: Go's sumdb/note vectors byte for byte, key parsing,
round trips, and every kind of tampering."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger.core import checkpoint as cp
from ledger.core import merkle

# golang.org/x/mod/sumdb/note note_test.go
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"
    "dngotpRZb6KE6RyyBwJnAM=\n"
).encode()
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGw"
    "nWLox33WWd1RvMc+QQ=\n"
).encode()

PETER = cp.Verifier.from_text(PETER_VKEY)
ENOCH = cp.Verifier.from_text(ENOCH_VKEY)
SIGNER = cp.Signer.from_text(PETER_SKEY)
WHEN = datetime(2025, 1, 31, 8, 0, 0, tzinfo=UTC)
ROOT = merkle.root([merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")])


def test_signing_reproduces_the_go_vector() -> None:
    assert cp.sign_note(TEXT, SIGNER) == TEXT + b"\n" + PETER_SIG
    assert cp.sign_note(TEXT.decode(), SIGNER) == TEXT + b"\n" + PETER_SIG


def test_keys_of_the_go_vector() -> None:
    assert PETER.name == "PeterNeumann"
    assert PETER.key_id.hex() == "c74f20a3"
    assert PETER.to_text() == PETER_VKEY
    assert SIGNER.verifier() == PETER
    assert SIGNER.key_id == PETER.key_id
    expected_id = hashlib.sha256(b"PeterNeumann\n\x01" + PETER.public_key).digest()[:4]
    assert cp.key_id("PeterNeumann", PETER.public_key) == expected_id
    assert "seed" not in repr(SIGNER)
    assert SIGNER.seed.hex() not in repr(SIGNER)


def test_opening_the_go_vector() -> None:
    note = TEXT + b"\n" + PETER_SIG + ENOCH_SIG
    assert cp.open_note(note, [PETER]) == (TEXT, ["PeterNeumann"])
    assert cp.open_note(note, [PETER, ENOCH]) == (TEXT, ["PeterNeumann", "EnochRoot"])
    assert cp.open_note(note, [ENOCH]) == (TEXT, ["EnochRoot"])
    repeated = TEXT + b"\n" + PETER_SIG + PETER_SIG + ENOCH_SIG
    assert cp.open_note(repeated, [PETER, ENOCH]) == (TEXT, ["PeterNeumann", "EnochRoot"])


def test_every_mangled_verifier_key_is_refused() -> None:
    """As Go's TestNewVerifier: every proper substring and every one-byte change."""
    for start in range(len(PETER_VKEY) + 1):
        for end in range(start + 1, len(PETER_VKEY) + 1):
            if (start, end) != (0, len(PETER_VKEY)):
                with pytest.raises(cp.MalformedKeyError):
                    cp.Verifier.from_text(PETER_VKEY[start:end])
    for position in range(len(PETER_VKEY)):
        changed = PETER_VKEY[:position] + chr(ord(PETER_VKEY[position]) + 1)
        with pytest.raises(cp.MalformedKeyError):
            cp.Verifier.from_text(changed + PETER_VKEY[position + 1 :])


def test_every_mangled_signer_key_is_refused() -> None:
    for start in range(len(PETER_SKEY) + 1):
        for end in range(start + 1, len(PETER_SKEY) + 1):
            if (start, end) != (0, len(PETER_SKEY)):
                with pytest.raises(cp.MalformedKeyError):
                    cp.Signer.from_text(PETER_SKEY[start:end])
    for position in range(len(PETER_SKEY)):
        changed = PETER_SKEY[:position] + chr(ord(PETER_SKEY[position]) + 1)
        with pytest.raises(cp.MalformedKeyError):
            cp.Signer.from_text(changed + PETER_SKEY[position + 1 :])


@pytest.mark.parametrize(
    "text",
    [
        # Go's: wrong key length with a matching key ID, unknown algorithm likewise.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f_0a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys(text: str) -> None:
    with pytest.raises(cp.MalformedKeyError):
        cp.Verifier.from_text(text)


def test_a_signer_key_is_not_a_verifier_key_nor_the_reverse() -> None:
    with pytest.raises(cp.MalformedKeyError, match="not a private key"):
        cp.Signer.from_text(PETER_VKEY)
    with pytest.raises(cp.MalformedKeyError):
        cp.Verifier.from_text(PETER_SKEY)


def test_generated_keys_round_trip() -> None:
    skey, vkey = cp.generate_signer("sop-ledger.example/log")
    signer, verifier = cp.Signer.from_text(skey), cp.Verifier.from_text(vkey)
    assert skey.startswith("PRIVATE+KEY+sop-ledger.example/log+")
    assert signer.verifier() == verifier
    assert verifier.to_text() == vkey
    note = cp.sign_note(b"hello\n", signer)
    assert cp.open_note(note, [verifier]) == (b"hello\n", ["sop-ledger.example/log"])
    assert cp.generate_signer("x") != cp.generate_signer("x")
    with pytest.raises(cp.MalformedKeyError, match="invalid name"):
        cp.generate_signer("has space")


def test_cosigned_notes() -> None:
    other = cp.Signer.from_text(cp.generate_signer("witness")[0])
    note = cp.sign_note(TEXT, SIGNER, other)
    assert note.startswith(TEXT + b"\n" + PETER_SIG)
    assert cp.open_note(note, [other.verifier()]) == (TEXT, ["witness"])
    assert cp.open_note(note, [PETER, other.verifier()]) == (TEXT, ["PeterNeumann", "witness"])


# --- tampering -------------------------------------------------------------------------


def test_tampered_text_is_a_bad_signature() -> None:
    note = TEXT.replace(b"answer", b"aNswer") + b"\n" + PETER_SIG
    with pytest.raises(cp.BadSignatureError, match=r"bad signature for key PeterNeumann\+c74f20a3"):
        cp.open_note(note, [PETER])


def test_tampered_signature_is_a_bad_signature() -> None:
    blob = bytearray(base64.b64decode(PETER_SIG.decode().split()[2]))
    for position in [4, 40, 67]:
        changed = bytearray(blob)
        changed[position] ^= 0x01
        line = f"\u2014 PeterNeumann {base64.b64encode(changed).decode()}\n".encode()
        with pytest.raises(cp.BadSignatureError):
            cp.open_note(TEXT + b"\n" + line, [PETER])
    # Go's: four extra base64 characters inside the signature.
    inserted = PETER_SIG[:60] + b"ABCD" + PETER_SIG[60:]
    with pytest.raises(cp.BadSignatureError, match="tanda tangan tidak sah / bad signature"):
        cp.open_note(TEXT + b"\n" + inserted, [PETER])


def test_a_bad_known_signature_fails_even_beside_a_good_one() -> None:
    changed = bytearray(base64.b64decode(ENOCH_SIG.decode().split()[2]))
    changed[10] ^= 0x80
    bad_enoch = f"\u2014 EnochRoot {base64.b64encode(changed).decode()}\n".encode()
    with pytest.raises(cp.BadSignatureError, match="EnochRoot"):
        cp.open_note(TEXT + b"\n" + PETER_SIG + bad_enoch, [PETER, ENOCH])
    assert cp.open_note(TEXT + b"\n" + PETER_SIG + bad_enoch, [PETER])[1] == ["PeterNeumann"]


def test_another_key_under_a_trusted_name_is_an_unknown_key() -> None:
    impostor = cp.Signer.from_text(cp.generate_signer("PeterNeumann")[0])
    note = cp.sign_note(TEXT, impostor)
    with pytest.raises(cp.UnknownKeyError, match=r"unknown key PeterNeumann\+[0-9a-f]{8}"):
        cp.open_note(note, [PETER])
    with pytest.raises(cp.NoTrustedSignatureError):
        cp.open_note(note, [PETER])
    changed_id = PETER_SIG.replace(b"x08g", b"xxxx")
    with pytest.raises(cp.UnknownKeyError, match="kunci tidak dikenal / unknown key"):
        cp.open_note(TEXT + b"\n" + changed_id, [PETER])


def test_signatures_by_strangers_only_are_no_trusted_signature() -> None:
    with pytest.raises(cp.NoTrustedSignatureError, match="no trusted signature") as raised:
        cp.open_note(TEXT + b"\n" + PETER_SIG + ENOCH_SIG, [])
    assert not isinstance(raised.value, cp.UnknownKeyError)
    renamed = PETER_SIG.replace(b"PeterNeumann", b"CarmenSandiego")
    with pytest.raises(cp.NoTrustedSignatureError):
        cp.open_note(TEXT + b"\n" + renamed, [PETER])


@pytest.mark.parametrize(
    "note",
    [
        TEXT,
        TEXT + b"\n",
        TEXT + b"\n" + PETER_SIG[:-1],
        b"\x01" + TEXT + b"\n" + PETER_SIG,
        b"\xff" + TEXT + b"\n" + PETER_SIG,
        TEXT
        + b"\n"
        + "\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFY"
        "C2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n".encode(),
        TEXT + b"\n" + PETER_SIG + b"Unexpected line.\n",
        TEXT + b"\n" + PETER_SIG * 101,
        TEXT + b"\n" + b"\xe2\x80\x94 PeterNeumann\n",
        TEXT + b"\n" + "\u2014 PeterNeumann AAAA\n".encode(),
        TEXT + b"\n" + "\u2014 PeterNeumann not*base64\n".encode(),
        TEXT + b"\n" + b"- PeterNeumann " + PETER_SIG.split(b" ")[2],
        TEXT.replace(b"\n", b"\r\n") + b"\n" + PETER_SIG,
    ],
)
def test_malformed_notes(note: bytes) -> None:
    with pytest.raises(cp.MalformedNoteError, match="catatan tidak valid / malformed note"):
        cp.open_note(note, [PETER])


@pytest.mark.parametrize("text", [b"no newline", b"", b"tab\there\n", b"\xff\n"])
def test_unsignable_texts(text: bytes) -> None:
    with pytest.raises(cp.MalformedNoteError):
        cp.sign_note(text, SIGNER)


def test_unknown_signature_algorithms_are_skipped_not_malformed() -> None:
    """A witness cosignature (C2SP tlog-cosignature: key ID, timestamp, signature) is
    longer than an Ed25519 note signature; by an unknown key it is simply ignored."""
    blob = b"\x01\x02\x03\x04" + b"\x00" * 8 + b"\x05" * 64
    line = f"\u2014 witness.example {base64.b64encode(blob).decode()}\n".encode()
    assert cp.open_note(TEXT + b"\n" + PETER_SIG + line, [PETER])[1] == ["PeterNeumann"]


# --- checkpoints -----------------------------------------------------------------------


def test_checkpoint_body() -> None:
    checkpoint = cp.Checkpoint("sop-ledger.example/log", 2, ROOT, WHEN)
    assert checkpoint.body() == (
        b"sop-ledger.example/log\n2\n" + base64.b64encode(ROOT) + b"\ntime 2025-01-31T08:00:00Z\n"
    )
    assert cp.parse_checkpoint(checkpoint.body()) == checkpoint
    assert cp.parse_checkpoint(checkpoint.body().decode()) == checkpoint


def test_checkpoint_time_is_utc_to_the_second() -> None:
    jakarta = timezone(timedelta(hours=7))
    local = datetime(2025, 1, 31, 15, 0, 0, 987654, tzinfo=jakarta)
    checkpoint = cp.Checkpoint("log", 0, merkle.EMPTY_ROOT, local)
    assert checkpoint.time == WHEN
    assert checkpoint.time.tzinfo is UTC
    assert b"\ntime 2025-01-31T08:00:00Z\n" in checkpoint.body()
    early = cp.Checkpoint("log", 0, merkle.EMPTY_ROOT, datetime(999, 1, 2, tzinfo=UTC))
    assert b"\ntime 0999-01-02T00:00:00Z\n" in early.body()
    assert cp.parse_checkpoint(early.body()) == early
    with pytest.raises(cp.MalformedCheckpointError, match="without a time zone"):
        cp.Checkpoint("log", 0, merkle.EMPTY_ROOT, datetime(2025, 1, 1))  # noqa: DTZ001


def test_extension_lines_are_kept() -> None:
    checkpoint = cp.Checkpoint("log", 5, ROOT, WHEN, ("note one", "\u2014 not a signature"))
    assert checkpoint.body().endswith(b"Z\nnote one\n\xe2\x80\x94 not a signature\n")
    assert cp.parse_checkpoint(checkpoint.body()) == checkpoint


def test_signed_checkpoints_round_trip() -> None:
    checkpoint = cp.Checkpoint("sop-ledger.example/log", 123456789, ROOT, WHEN)
    note = cp.sign_checkpoint(checkpoint, SIGNER)
    assert note.startswith(checkpoint.body() + "\n\u2014 PeterNeumann ".encode())
    assert cp.open_checkpoint(note, [PETER]) == (checkpoint, ["PeterNeumann"])
    forged = note.replace(b"\n123456789\n", b"\n123456788\n")
    with pytest.raises(cp.BadSignatureError):
        cp.open_checkpoint(forged, [PETER])


@pytest.mark.parametrize(
    "body",
    [
        b"log\n2\n",
        b"log\n2\n" + base64.b64encode(ROOT) + b"\n",
        b"log\n02\n" + base64.b64encode(ROOT) + b"\ntime 2025-01-31T08:00:00Z\n",
        b"log\n-2\n" + base64.b64encode(ROOT) + b"\ntime 2025-01-31T08:00:00Z\n",
        b"log\n2\n" + base64.b64encode(ROOT[:31]) + b"\ntime 2025-01-31T08:00:00Z\n",
        b"log\n2\n" + base64.b64encode(ROOT)[:-1] + b"\ntime 2025-01-31T08:00:00Z\n",
        b"log\n2\n" + base64.b64encode(ROOT) + b"\ntime 2025-01-31T08:00:00+00:00\n",
        b"log\n2\n" + base64.b64encode(ROOT) + b"\ntime 2025-01-31T08:00:00.5Z\n",
        b"log\n2\n" + base64.b64encode(ROOT) + b"\ntime 2025-02-30T08:00:00Z\n",
        b"log\n2\n" + base64.b64encode(ROOT) + b"\nTime 2025-01-31T08:00:00Z\n",
        b"log\n2\n" + base64.b64encode(ROOT) + b"\ntime 2025-01-31T08:00:00Z\n\n",
        b"log\n2\n" + base64.b64encode(ROOT) + b"\ntime 2025-01-31T08:00:00Z",
        b"\n2\n" + base64.b64encode(ROOT) + b"\ntime 2025-01-31T08:00:00Z\n",
        b"a log\n2\n" + base64.b64encode(ROOT) + b"\ntime 2025-01-31T08:00:00Z\n",
    ],
)
def test_malformed_checkpoints(body: bytes) -> None:
    with pytest.raises(cp.MalformedCheckpointError, match="/"):
        cp.parse_checkpoint(body)


def test_checkpoint_fields_are_checked() -> None:
    with pytest.raises(cp.MalformedCheckpointError, match="root hash must be 32 bytes"):
        cp.Checkpoint("log", 1, b"short", WHEN)
    with pytest.raises(cp.MalformedCheckpointError, match="tree size"):
        cp.Checkpoint("log", -1, ROOT, WHEN)
    with pytest.raises(cp.MalformedCheckpointError, match="invalid name"):
        cp.Checkpoint("a+b", 1, ROOT, WHEN)
    with pytest.raises(cp.MalformedCheckpointError, match="extension line"):
        cp.Checkpoint("log", 1, ROOT, WHEN, ("two\nlines",))
