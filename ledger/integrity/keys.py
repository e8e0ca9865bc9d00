"""Checkpoint signing keys: the private key in a file only the ledger host reads, the
public key registered in the ledger's database (and published at ``GET /ledger/keys``).

Rotation retires the old key (its checkpoints keep verifying with it) and makes a new
one; the old private key file is kept beside the new one, renamed, for the operator to
destroy or archive.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ledger.core.checkpoint import Signer, generate_signer
from ledger.integrity.store import IntegrityStore


class KeyFileError(RuntimeError):
    """The signing key file is missing, already there, or unreadable."""


def load_signer(path: Path) -> Signer:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise KeyFileError(
            f"kunci penanda tangan tidak ada di {path} / no signing key at {path} "
            "(sop-ledger keys generate)"
        ) from None
    return Signer.from_text(text)


def generate_key(
    store: IntegrityStore, path: Path, name: str, now: Callable[[], datetime]
) -> Signer:
    """A new signing key at ``path`` (which must not exist), registered as active."""
    if path.exists():
        raise KeyFileError(
            f"kunci sudah ada di {path} / a key already exists at {path} (sop-ledger keys rotate)"
        )
    signer_text, _ = generate_signer(name)
    _write_private(path, signer_text)
    signer = Signer.from_text(signer_text)
    store.add_key(signer.verifier(), "active", now())
    return signer


def rotate_key(
    store: IntegrityStore, path: Path, name: str, now: Callable[[], datetime]
) -> tuple[Signer, Path]:
    """Retire the key at ``path`` and generate its successor; returns the new signer and
    where the old private key was moved."""
    old = load_signer(path)
    at = now()
    kept = path.with_name(f"{path.name}.retired-{at.strftime('%Y%m%dT%H%M%SZ')}")
    path.rename(kept)
    store.add_key(old.verifier(), "retired", at)
    return generate_key(store, path, name, now), kept


def ensure_key(store: IntegrityStore, path: Path, name: str, now: Callable[[], datetime]) -> Signer:
    """The key at ``path``, made and registered if there is none (a fresh demo machine)."""
    if path.exists():
        return load_signer(path)
    return generate_key(store, path, name, now)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")
