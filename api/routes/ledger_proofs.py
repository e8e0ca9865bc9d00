"""Signed checkpoints, verifier keys and RFC 9162 proofs: what an inspector needs to check,
without trusting this service, that an event is in the log the ledger signed and that the
log has only grown since an earlier checkpoint.

Everything here is the standard formats (C2SP signed notes and tlog checkpoints, RFC 9162
proofs), so off-the-shelf tools check it; the service only hands the material out.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.auth import Scope, require
from api.problems import Problem, problems
from api.responses import (
    EXAMPLE_NOTE,
    CheckpointOut,
    ConsistencyProofOut,
    InclusionProofOut,
    SigningKeyOut,
    ok,
)
from ledger.core import merkle
from ledger.core.clock import as_wib
from ledger.core.cloudevents import MAX_POSITION
from ledger.core.errors import LedgerError
from ledger.integrity.checkpointer import Checkpointer
from ledger.integrity.store import (
    IntegrityStore,
    NotSealedError,
    StoredCheckpoint,
    UnknownSignerError,
)

READERS = (Scope.INSPECTOR, Scope.INTEGRATOR, Scope.ADMIN, Scope.OFFICIAL, Scope.CLERK)
router = APIRouter(
    prefix="/ledger",
    tags=["ledger"],
    dependencies=[Depends(require(*READERS))],
    responses=problems(401, 403),
)


# --- refusals ----------------------------------------------------------------------------


class NoCheckpointError(LedgerError):
    code = "no-checkpoint"
    title_id = "Belum ada checkpoint bertanda tangan"
    title_en = "No signed checkpoint yet"


class CheckpointNotFoundError(LedgerError):
    code = "checkpoint-not-found"
    title_id = "Tidak ada checkpoint untuk ukuran pohon itu"
    title_en = "No checkpoint of that tree size"


class NotInTreeError(LedgerError):
    code = "not-in-tree"
    title_id = "Posisi tidak ada di pohon bertanda tangan"
    title_en = "Position not in the signed tree"


class InvalidTreeSizeError(LedgerError):
    code = "invalid-tree-size"
    title_id = "Ukuran pohon tidak valid"
    title_en = "Invalid tree size"


class EvidenceNotReadyError(LedgerError):
    """No bundle can be made yet (no checkpoint, or the case is newer than the latest)."""

    code = "evidence-not-ready"
    title_id = "Berkas bukti belum dapat dibuat"
    title_en = "Evidence bundle not available yet"


class IntegrityUnavailableError(LedgerError):
    code = "integrity-unavailable"
    title_id = "Bukti buku besar tidak tersedia"
    title_en = "Ledger proofs unavailable"


class SigningUnavailableError(IntegrityUnavailableError):
    code = "signing-unavailable"
    title_id = "Layanan ini tidak menandatangani checkpoint"
    title_en = "This service signs no checkpoints"


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


_NO_CHECKPOINT = "Belum ada checkpoint / no signed checkpoint yet"
_BAD_SIZE = "Ukuran pohon di luar checkpoint terakhir / a tree size beyond the latest checkpoint"
_UNAVAILABLE = _problem("Tidak tersedia / this service keeps no Merkle tree")


# --- dependencies ------------------------------------------------------------------------


def get_integrity(request: Request) -> IntegrityStore:
    store: IntegrityStore | None = request.app.state.integrity
    if store is None:
        raise IntegrityUnavailableError(
            "layanan ini berjalan tanpa pohon Merkle / this service runs without a Merkle tree"
        )
    return store


def get_checkpointer(request: Request) -> Checkpointer:
    checkpointer: Checkpointer | None = request.app.state.checkpointer
    if checkpointer is None:
        raise SigningUnavailableError(
            "layanan ini tidak memegang kunci penanda tangan (atau interval 0) / this service "
            "holds no signing key (or its checkpoint interval is 0): sop-ledger keys generate"
        )
    return checkpointer


IntegrityDep = Annotated[IntegrityStore, Depends(get_integrity)]
CheckpointerDep = Annotated[Checkpointer, Depends(get_checkpointer)]


# --- routes ------------------------------------------------------------------------------


@router.get(
    "/checkpoint",
    summary="Checkpoint bertanda tangan / the latest signed checkpoint",
    response_model=None,
    responses={
        200: {
            "model": CheckpointOut,
            "description": "Default `text/plain`: the signed note exactly (C2SP "
            "tlog-checkpoint; Go's sumdb/note and other C2SP tools verify it). With "
            "`Accept: application/json`: its fields and the note.",
            "content": {"text/plain": {"schema": {"type": "string"}, "example": EXAMPLE_NOTE}},
        },
        404: _problem(f"{_NO_CHECKPOINT}, or none of that tree size"),
        422: _problem("Permintaan tidak valid / a malformed tree_size"),
        503: _UNAVAILABLE,
    },
)
def checkpoint(
    request: Request,
    store: IntegrityDep,
    tree_size: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_POSITION,
            description="checkpoint ukuran ini / the checkpoint of exactly this tree size",
        ),
    ] = None,
) -> Response:
    """The newest signed tree head (or the one of ``tree_size``), as its signed note or,
    asked for JSON, as its fields."""
    found = _latest(store) if tree_size is None else store.checkpoint_of(tree_size)
    if found is None:
        raise CheckpointNotFoundError(
            f"tidak ada checkpoint berukuran {tree_size} / no checkpoint of tree size {tree_size}",
            field="tree_size",
        )
    headers = {"Vary": "Accept"}
    if _prefers_json(request.headers.get("accept")):
        return JSONResponse(_checkpoint_json(found), headers=headers)
    return Response(found.note, media_type="text/plain", headers=headers)


@router.get(
    "/keys",
    summary="Kunci verifikasi checkpoint / checkpoint verifier keys",
    response_model=None,
    responses=ok(list[SigningKeyOut]) | {503: _UNAVAILABLE},
)
def keys(store: IntegrityDep) -> list[dict[str, Any]]:
    """Every key that ever signed checkpoints, oldest first: pin them, and verify notes and
    evidence bundles with them (retired keys still verify what they signed)."""
    return [
        {
            "verifier_key": key.verifier_key,
            "name": key.name,
            "key_id": key.verifier.key_id.hex(),
            "status": key.status,
            "since": as_wib(key.at).isoformat(),
        }
        for key in store.signing_keys()
    ]


@router.get(
    "/proofs/inclusion/{position}",
    summary="Bukti inklusi peristiwa / inclusion proof of an event",
    response_model=None,
    responses=ok(InclusionProofOut)
    | {
        404: _problem(
            f"{_NO_CHECKPOINT}; no event at that position, or not yet under the checkpoint"
        ),
        422: _problem(f"{_BAD_SIZE}, or a malformed position"),
        503: _UNAVAILABLE,
    },
)
def inclusion(
    store: IntegrityDep,
    position: Annotated[int, Path(ge=1, le=MAX_POSITION, description="posisi log / log position")],
    tree_size: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_POSITION,
            description="ukuran pohon / tree size; default: the latest checkpoint's",
        ),
    ] = None,
) -> dict[str, Any]:
    """The event's leaf and its audit path up to the root of ``tree_size`` leaves. Check
    it with RFC 9162 section 2.1.3.2 against the root in the signed ``checkpoint``."""
    latest = _latest(store)
    if tree_size is not None and tree_size > latest.tree_size:
        raise _beyond(tree_size, latest, "tree_size")
    try:
        leaf, size, proof = store.inclusion(position, tree_size)
    except NotSealedError as error:  # the size was checked: it is the position
        raise NotInTreeError(str(error), field="position") from None
    signed = latest if size == latest.tree_size else store.checkpoint_of(size)
    return {
        "position": leaf.position,
        "leaf_index": leaf.leaf_index,
        "tree_size": size,
        "leaf_hash": leaf.leaf_hash.hex(),
        "proof": [_b64(hashed) for hashed in proof],
        "root_hash": _b64(signed.root_hash if signed else store.root(size)),
        "checkpoint": signed.note if signed else None,
    }


@router.get(
    "/proofs/consistency",
    summary="Bukti konsistensi / consistency proof between two tree sizes",
    response_model=None,
    responses=ok(ConsistencyProofOut)
    | {
        404: _problem(_NO_CHECKPOINT),
        422: _problem(f"{_BAD_SIZE}, or `first` larger than `second`"),
        503: _UNAVAILABLE,
    },
)
def consistency(
    store: IntegrityDep,
    first: Annotated[
        int, Query(ge=0, le=MAX_POSITION, description="ukuran lama / the earlier tree size")
    ],
    second: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_POSITION,
            description="ukuran baru / the later tree size; default: the latest checkpoint's",
        ),
    ] = None,
) -> dict[str, Any]:
    """Proof that the tree of ``first`` leaves is a prefix of the tree of ``second``
    (RFC 9162 section 2.1.4.2): nothing signed before was changed or dropped since."""
    latest = _latest(store)
    if second is not None and second > latest.tree_size:
        raise _beyond(second, latest, "second")
    target = latest.tree_size if second is None else second
    if first > target:
        raise InvalidTreeSizeError(
            f"first {first} lebih besar dari second {target} / first {first} is larger than "
            f"second {target}",
            field="first",
        )
    try:
        size, proof = store.consistency(first, target)
    except NotSealedError as error:  # both sizes were checked against the checkpoint
        raise InvalidTreeSizeError(str(error), field="first") from None
    return {
        "first": first,
        "second": size,
        "proof": [_b64(hashed) for hashed in proof],
        "first_root": _b64(_root(store, first)),
        "second_root": _b64(_root(store, size)),
    }


@router.post(
    "/checkpoints",
    status_code=201,
    summary="Tanda tangani checkpoint sekarang / sign a checkpoint now (admin)",
    dependencies=[Depends(require(Scope.ADMIN))],
    response_model=None,
    responses={
        201: {
            "model": CheckpointOut,
            "description": "Signed now: the new checkpoint",
            "headers": {
                "Location": {
                    "description": "`/ledger/checkpoint?tree_size=N`",
                    "schema": {"type": "string"},
                }
            },
        },
        200: {
            "model": CheckpointOut,
            "description": "No event since the latest checkpoint: that one, unchanged",
        },
        503: _problem("Tidak menandatangani / this service holds no signing key (or never signs)"),
    },
)
def sign(checkpointer: CheckpointerDep, response: Response) -> dict[str, Any]:
    """Sign a checkpoint over every event sealed so far, without waiting for the
    checkpointer's next tick (before exporting evidence, say)."""
    try:
        made = checkpointer.sign_now()
    except UnknownSignerError as error:
        raise SigningUnavailableError(str(error)) from None
    if made is None:
        response.status_code = 200
        return _checkpoint_json(_latest(checkpointer.store))
    response.headers["Location"] = f"/ledger/checkpoint?tree_size={made.tree_size}"
    return _checkpoint_json(made)


# --- helpers -----------------------------------------------------------------------------


def _latest(store: IntegrityStore) -> StoredCheckpoint:
    latest = store.latest_checkpoint()
    if latest is None:
        raise NoCheckpointError(
            "buku besar belum menandatangani checkpoint / the ledger has signed no "
            "checkpoint yet (sop-ledger checkpoint)"
        )
    return latest


def _beyond(size: int, latest: StoredCheckpoint, field: str) -> InvalidTreeSizeError:
    return InvalidTreeSizeError(
        f"ukuran pohon {size} melebihi checkpoint terakhir ({latest.tree_size}) / tree size "
        f"{size} is beyond the latest checkpoint ({latest.tree_size})",
        field=field,
    )


def _root(store: IntegrityStore, size: int) -> bytes:
    return merkle.EMPTY_ROOT if size == 0 else store.root(size)


def _checkpoint_json(stored: StoredCheckpoint) -> dict[str, Any]:
    return {
        "tree_size": stored.tree_size,
        "root_hash": _b64(stored.root_hash),
        "signed_at": as_wib(stored.signed_at).isoformat(),
        "key_name": stored.key_name,
        "note": stored.note,
    }


def _b64(hashed: bytes) -> str:
    return base64.b64encode(hashed).decode("ascii")


def _prefers_json(accept: str | None) -> bool:
    """Whether ``Accept`` ranks application/json above text/plain (each by its most
    specific matching range); ties, garbage and no header get the note itself."""
    if not accept:
        return False
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.setdefault(media.lower(), quality)
    return _quality(ranges, "application/json") > _quality(ranges, "text/plain")


def _quality(ranges: dict[str, float], media: str) -> float:
    for candidate in (media, f"{media.partition('/')[0]}/*", "*/*"):
        if candidate in ranges:
            return ranges[candidate]
    return 0.0
