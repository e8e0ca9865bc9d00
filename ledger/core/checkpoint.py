"""Signed tree heads as C2SP signed notes and tlog checkpoints, with Ed25519.

Formats (https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint), the ones Go's
``golang.org/x/mod/sumdb/note`` reads and writes, so existing witnesses and verifiers
work with our checkpoints:

* key ID: the first 4 bytes of ``SHA-256(name || 0x0A || 0x01 || public key)``;
* verifier key: ``<name>+<key ID hex>+<base64(0x01 || public key)>``;
* signer key: ``PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || seed)>``;
* note: the text (ending in a newline), a blank line, then one line per signature,
  ``\u2014 <name> <base64(key ID || Ed25519 signature of the text)>``.

A checkpoint's text is the origin, the tree size in decimal and the base64 root hash,
one per line, then extension lines. Ours always carries one extension line,
``time <RFC 3339 UTC, whole seconds, Z>`` (``time 2025-01-31T08:00:00Z``): when the
ledger signed that tree head, so a signed checkpoint also dates the events under it.
Any further extension lines are kept as they are.

Opening a note ignores signatures by names none of the verifiers has (a witness's
cosignature, say), as the spec asks, but fails on a bad signature by a known key: that
is evidence of tampering whatever else verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Self

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM_ED25519 = 0x01
KEY_ID_SIZE = 4
SIGNATURE_SIZE = 64
MAX_SIGNATURES = 100
HASH_SIZE = 32
SIGNATURE_PREFIX = "\u2014 "
PRIVATE_PREFIX = "PRIVATE+KEY+"
TIME_KEYWORD = "time "

_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteError(ValueError):
    """A key, note or checkpoint that cannot be used; subclasses say why."""


class MalformedKeyError(NoteError):
    """A signer or verifier key text that does not parse or does not match its key ID."""


class MalformedNoteError(NoteError):
    """Note bytes that are not a signed note (encoding, layout, signature lines)."""


class BadSignatureError(NoteError):
    """A signature by a known key that does not verify: the text or signature changed."""


class NoTrustedSignatureError(NoteError):
    """No signature on the note is by a name any of the verifiers has."""


class UnknownKeyError(NoTrustedSignatureError):
    """Nothing verified, and a signature names a known signer with a key ID none of the
    verifiers has (another key under that name, e.g. a rotated or forged one)."""


class MalformedCheckpointError(NoteError):
    """Note text that is not a checkpoint as this ledger writes them."""


def key_id(name: str, public_key: bytes) -> bytes:
    """``SHA-256(name || "\\n" || 0x01 || public key)[:4]``."""
    material = name.encode() + b"\n" + bytes([ALGORITHM_ED25519]) + public_key
    return hashlib.sha256(material).digest()[:KEY_ID_SIZE]


@dataclass(frozen=True)
class Verifier:
    """One Ed25519 public key under a name."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name, MalformedKeyError)
        if len(self.public_key) != 32:
            raise MalformedKeyError("kunci publik harus 32 byte / public key must be 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @classmethod
    def from_text(cls, text: str) -> Self:
        """Parse ``<name>+<key ID hex>+<base64(0x01 || public key)>``."""
        name, public_key = _parse_key_text(text)
        return cls(name, public_key)

    def to_text(self) -> str:
        return _key_text(self.name, self.key_id, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """One Ed25519 private key under a name (the seed stays out of ``repr``)."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_name(self.name, MalformedKeyError)
        if len(self.seed) != 32:
            raise MalformedKeyError("seed Ed25519 harus 32 byte / Ed25519 seed must be 32 bytes")

    @classmethod
    def from_text(cls, text: str) -> Self:
        """Parse ``PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || seed)>``."""
        if not text.startswith(PRIVATE_PREFIX):
            raise MalformedKeyError("bukan kunci privat / not a private key")
        name, seed = _parse_key_text(text.removeprefix(PRIVATE_PREFIX), private=True)
        return cls(name, seed)

    @property
    def public_key(self) -> bytes:
        return self._private_key().public_key().public_bytes_raw()

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature (deterministic, RFC 8032)."""
        return self._private_key().sign(message)

    def _private_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)


def generate_signer(name: str) -> tuple[str, str]:
    """A new key pair as ``(signer key text, verifier key text)``."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    signer = Signer(name, seed)
    return PRIVATE_PREFIX + _key_text(name, signer.key_id, seed), signer.verifier().to_text()


# --- notes -----------------------------------------------------------------------------


def sign_note(text: bytes | str, signer: Signer, *cosigners: Signer) -> bytes:
    """The note: ``text``, a blank line, one signature line per signer."""
    body = _note_text(text)
    lines = [
        f"{SIGNATURE_PREFIX}{each.name} "
        f"{base64.b64encode(each.key_id + each.sign(body)).decode('ascii')}\n".encode()
        for each in (signer, *cosigners)
    ]
    return body + b"\n" + b"".join(lines)


def open_note(note: bytes, verifiers: Iterable[Verifier]) -> tuple[bytes, list[str]]:
    """The text of ``note`` and the names whose signatures verified (in note order).

    Raises :class:`MalformedNoteError`, :class:`BadSignatureError` (a known key's
    signature fails), :class:`UnknownKeyError` or :class:`NoTrustedSignatureError`.
    """
    text, signatures = _split_note(note)
    verifiers = tuple(verifiers)
    by_key = {(each.name, each.key_id): each for each in verifiers}
    names = {each.name for each in verifiers}
    verified: list[str] = []
    unknown: list[str] = []
    for name, identifier, signature in signatures:
        verifier = by_key.get((name, identifier))
        label = f"{name}+{identifier.hex()}"
        if verifier is None:
            if name in names:
                unknown.append(label)
            continue
        if not verifier.verify(text, signature):
            raise BadSignatureError(f"tanda tangan tidak sah / bad signature for key {label}")
        if name not in verified:
            verified.append(name)
    if verified:
        return text, verified
    if unknown:
        raise UnknownKeyError(f"kunci tidak dikenal / unknown key {', '.join(unknown)}")
    raise NoTrustedSignatureError(
        "tidak ada tanda tangan tepercaya / no trusted signature on the note"
    )


# --- checkpoints -----------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: ``size`` leaves under ``root_hash`` in the log named ``origin``.

    ``time`` is kept in UTC and to the second, as the ``time`` line carries it.
    """

    origin: str
    size: int
    root_hash: bytes
    time: datetime
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_name(self.origin, MalformedCheckpointError)
        if isinstance(self.size, bool) or self.size < 0:
            raise MalformedCheckpointError(
                "ukuran pohon tidak valid / tree size must be a non-negative integer"
            )
        if len(self.root_hash) != HASH_SIZE:
            raise MalformedCheckpointError("hash akar harus 32 byte / root hash must be 32 bytes")
        if self.time.tzinfo is None:
            raise MalformedCheckpointError("waktu tanpa zona / time without a time zone")
        object.__setattr__(self, "time", self.time.astimezone(UTC).replace(microsecond=0))
        for line in self.extensions:
            if not line or "\n" in line or _CONTROL.search(line):
                raise MalformedCheckpointError(
                    "baris ekstensi tidak valid / invalid extension line"
                )

    def body(self) -> bytes:
        """The note text: origin, size, base64 root, ``time`` line, other extensions."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root_hash).decode("ascii"),
            TIME_KEYWORD + self.time.replace(tzinfo=None).isoformat() + "Z",
            *self.extensions,
        ]
        return "".join(line + "\n" for line in lines).encode()


def parse_checkpoint(text: bytes | str) -> Checkpoint:
    """The checkpoint in a note text, which must be exactly as :meth:`Checkpoint.body` wrote it."""
    raw = _note_text(text, MalformedCheckpointError)
    lines = raw.decode().split("\n")[:-1]
    if len(lines) < 4:
        raise MalformedCheckpointError("checkpoint terlalu pendek / checkpoint too short")
    origin, size, root64, stamp, *extensions = lines
    if not _DECIMAL.fullmatch(size):
        raise MalformedCheckpointError("ukuran pohon tidak valid / invalid tree size")
    try:
        root_hash = base64.b64decode(root64, validate=True)
    except binascii.Error:
        raise MalformedCheckpointError("hash akar tidak valid / invalid root hash") from None
    if not stamp.startswith(TIME_KEYWORD) or not _TIME.fullmatch(stamp[len(TIME_KEYWORD) :]):
        raise MalformedCheckpointError("baris waktu tidak valid / missing or invalid time line")
    try:
        time = datetime.fromisoformat(stamp[len(TIME_KEYWORD) :])
    except ValueError:
        raise MalformedCheckpointError("waktu tidak valid / invalid time") from None
    checkpoint = Checkpoint(origin, int(size), root_hash, time, tuple(extensions))
    if checkpoint.body() != raw:
        raise MalformedCheckpointError("checkpoint tidak kanonis / checkpoint not canonical")
    return checkpoint


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> bytes:
    """The signed note of ``checkpoint``."""
    return sign_note(checkpoint.body(), signer)


def open_checkpoint(note: bytes, verifiers: Iterable[Verifier]) -> tuple[Checkpoint, list[str]]:
    """:func:`open_note`, then :func:`parse_checkpoint` of its text."""
    text, names = open_note(note, verifiers)
    return parse_checkpoint(text), names


# --- helpers ---------------------------------------------------------------------------


def _check_name(name: str, error: type[NoteError]) -> None:
    """Key names and origins: non-empty, no Unicode space, no ``+``, no control character."""
    if not name or "+" in name or any(char.isspace() or ord(char) < 0x20 for char in name):
        raise error(f"nama tidak valid / invalid name {name!r}")


def _key_text(name: str, identifier: bytes, key: bytes) -> str:
    encoded = base64.b64encode(bytes([ALGORITHM_ED25519]) + key).decode("ascii")
    return f"{name}+{identifier.hex()}+{encoded}"


def _parse_key_text(text: str, *, private: bool = False) -> tuple[str, bytes]:
    """``(name, key)`` of ``<name>+<key ID hex>+<base64(0x01 || key)>``, the key ID checked."""
    parts = text.split("+", 2)
    if len(parts) != 3 or not _HEX8.fullmatch(parts[1]):
        raise MalformedKeyError("kunci tidak valid / malformed key")
    name, identifier, encoded = parts
    _check_name(name, MalformedKeyError)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise MalformedKeyError("kunci tidak valid / malformed key") from None
    if len(key) != 33 or key[0] != ALGORITHM_ED25519:
        raise MalformedKeyError("bukan kunci Ed25519 / not an Ed25519 key")
    key = key[1:]
    public = Signer(name, key).public_key if private else key
    if key_id(name, public) != bytes.fromhex(identifier):
        raise MalformedKeyError("ID kunci tidak cocok / key ID does not match the key")
    return name, key


def _note_text(text: bytes | str, error: type[NoteError] = MalformedNoteError) -> bytes:
    """Note text as bytes: UTF-8, ends in a newline, no control character but newline."""
    raw = text.encode() if isinstance(text, str) else text
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("teks bukan UTF-8 / text is not UTF-8") from None
    if not decoded.endswith("\n") or _CONTROL.search(decoded):
        raise error(
            "teks harus diakhiri baris baru, tanpa karakter kendali / "
            "text must end in a newline and hold no control characters"
        )
    return raw


def _split_note(note: bytes) -> tuple[bytes, list[tuple[str, bytes, bytes]]]:
    """``(text, [(name, key ID, signature)])``; malformed notes raise."""
    malformed = MalformedNoteError("catatan tidak valid / malformed note")
    if not isinstance(note, bytes):
        raise malformed
    try:
        decoded = note.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed from None
    if _CONTROL.search(decoded):
        raise malformed
    split = note.rfind(b"\n\n")
    if split < 0:
        raise malformed
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith(b"\n"):
        raise malformed
    lines = block.decode("utf-8").split("\n")[:-1]
    if len(lines) > MAX_SIGNATURES:
        raise malformed
    signatures: list[tuple[str, bytes, bytes]] = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise malformed
        name, space, encoded = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
            _check_name(name, MalformedNoteError)
        except (binascii.Error, NoteError):
            raise malformed from None
        if not space or len(blob) <= KEY_ID_SIZE:
            raise malformed
        signatures.append((name, blob[:KEY_ID_SIZE], blob[KEY_ID_SIZE:]))
    return text, signatures
