"""Evidence bundles: one JSON file an inspector takes away and checks with nothing else.

A bundle holds the events of one case (or of every case of one quarter) byte for byte
as stored, each with its leaf hash, its case's previous leaf hash and an RFC 9162
inclusion proof, all against ONE signed checkpoint (a C2SP signed note) whose verifier
keys ride along. Checking it needs no database: recompute each leaf from the fields,
walk each proof up to the signed root, follow each case's hash chain, open the note.

The keys inside a bundle are only what the bundle asserts about itself: whoever forged
the events could forge the note and swap the keys too. So :func:`verify_bundle` says
when it had to use them, and shows their key IDs, for the inspector to compare with the
keys the ledger publishes (``GET /ledger/keys``) or to pass trusted keys instead.

What a bundle cannot show is what was left out at its end: a case's newest events or a
whole case of a period. Every event in it is proven; completeness is not.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import orjson

from ledger.core import merkle
from ledger.core.checkpoint import (
    BadSignatureError,
    Checkpoint,
    NoteError,
    NoTrustedSignatureError,
    Verifier,
    open_checkpoint,
    open_note,
    parse_checkpoint,
)
from ledger.core.eventhash import canonical_event, leaf_hash
from ledger.core.jcs import MAX_EXACT_INT
from ledger.core.periods import InvalidPeriodError, Quarter
from ledger.integrity.problems import Kind, Problem
from ledger.integrity.store import KeyRecord, Leaf, NotSealedError, SealedEvent, StoredCheckpoint

FORMAT = "sop-ledger-evidence/1"
KEYS_URL = "GET /ledger/keys"

InclusionProof = tuple[int, int, Sequence[bytes]]
"""``(leaf_index, tree_size, audit path)`` of one record."""

_HEX_HASH = re.compile(r"[0-9a-f]{64}")

HOW_TO_VERIFY: dict[str, list[str]] = {
    "id": [
        "Hash daun tiap peristiwa = SHA-256(0x00 || kanonis). Kanonis adalah byte UTF-8 "
        '{"case_id":"<case_id>","payload":<state apa adanya>,"position":<position>,'
        '"previous":"<previous hex>" atau null,"topic":<topic sebagai string JSON RFC 8785>,'
        '"version":<version>} tanpa spasi, anggota dalam urutan ini; harus sama dengan '
        "leaf_hash.",
        "previous = leaf_hash peristiwa versi sebelumnya dari kasus yang sama (null untuk "
        "versi 1): peristiwa satu kasus, diurutkan menurut versi, harus berversi 1..n tanpa "
        "celah, masing-masing terantai ke yang sebelumnya.",
        "inclusion_proof (base64) adalah jalur audit RFC 9162 bagian 2.1.3 untuk leaf_index "
        "pada pohon berukuran tree_size; jalur itu harus berujung pada root_hash.",
        "checkpoint adalah catatan bertanda tangan C2SP (tlog-checkpoint: origin, ukuran "
        "pohon, akar base64, baris time) dengan tanda tangan Ed25519. Tanda tangannya harus "
        "sah dengan kunci yang Anda percayai (bandingkan keys dengan " + KEYS_URL + ") dan "
        "isinya harus sama dengan tree_size dan root_hash.",
        "Batas: setiap peristiwa di berkas ini terbukti utuh di log yang ditandatangani, "
        "tetapi peristiwa terbaru suatu kasus atau kasus suatu periode yang tidak disertakan "
        "tidak dapat dibuktikan dari berkas ini; bandingkan dengan buku besar.",
        "Perintah: sop-ledger verify --bundle BERKAS [--key BERKAS_KUNCI].",
    ],
    "en": [
        "Each event's leaf hash = SHA-256(0x00 || canonical). Canonical is the UTF-8 bytes "
        '{"case_id":"<case_id>","payload":<state verbatim>,"position":<position>,'
        '"previous":"<previous hex>" or null,"topic":<topic as an RFC 8785 JSON string>,'
        '"version":<version>} with no whitespace, members in this order; it must equal '
        "leaf_hash.",
        "previous = the leaf_hash of the same case's event of the version before (null for "
        "version 1): a case's events, sorted by version, must be versions 1..n with no gap, "
        "each chained to the one before.",
        "inclusion_proof (base64) is the RFC 9162 section 2.1.3 audit path of leaf_index in "
        "the tree of tree_size leaves; it must lead to root_hash.",
        "checkpoint is a C2SP signed note (tlog-checkpoint: origin, tree size, base64 root, "
        "time line) with Ed25519 signatures. It must verify with a key you trust (compare "
        "keys with " + KEYS_URL + ") and carry the same tree_size and root_hash.",
        "Limits: every event in this file is proven unaltered in the signed log, but a "
        "case's newest events or a period's cases left out of the file cannot be shown "
        "from it; compare with the ledger.",
        "Command: sop-ledger verify --bundle FILE [--key KEY_FILE].",
    ],
}


class BundleError(Exception):
    """A bundle that cannot be read or made; ``field`` names the offending JSON field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _invalid(field: str, reason_id: str, reason_en: str) -> BundleError:
    return BundleError(
        f"berkas bukti tidak valid / invalid evidence bundle: {field}: {reason_id} / {reason_en}",
        field,
    )


@dataclass(frozen=True, slots=True)
class BundleResult:
    """What :func:`verify_bundle` found. ``key_names`` signed the checkpoint (by the keys
    checked against); ``signing_keys`` are those keys in full, key IDs included."""

    problems: list[Problem]
    events: int
    tree_size: int
    key_names: list[str]
    signing_keys: list[str]
    self_asserted_keys: bool
    subject: dict[str, Any]
    checkpoint_time: datetime | None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [
            f"berkas bukti / evidence bundle: {_describe(self.subject)}",
            f"peristiwa/events {self.events:,}  ukuran pohon/tree size {self.tree_size:,}  "
            f"checkpoint {_stamp(self.checkpoint_time) if self.checkpoint_time else '-'}  "
            f"ditandatangani/signed by {', '.join(self.key_names) or '-'}",
        ]
        if self.self_asserted_keys:
            lines.append(
                "PERHATIAN / NOTE: kunci diambil dari berkas itu sendiri; cocokkan dengan "
                f"{KEYS_URL} / keys taken from the bundle itself; compare them with "
                f"{KEYS_URL} (or pass --key):"
            )
            lines.extend(f"  {key}" for key in self.signing_keys or ["-"])
        if self.ok:
            lines.append(
                "BERES / OK: semua peristiwa utuh dan tercakup checkpoint / every event is "
                "unaltered and under the signed checkpoint"
            )
        else:
            lines.append(f"GAGAL / FAILED: {len(self.problems)} masalah / problem(s)")
            lines.extend(
                f"  {'-' if p.position is None else p.position}: {p.kind}: {p.detail}"
                for p in self.problems
            )
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "subject": self.subject,
            "events": self.events,
            "tree_size": self.tree_size,
            "checkpoint_time": _stamp(self.checkpoint_time) if self.checkpoint_time else None,
            "key_names": self.key_names,
            "signing_keys": self.signing_keys,
            "self_asserted_keys": self.self_asserted_keys,
            "problems": [p.as_json() for p in self.problems],
        }


# --- what exporting needs --------------------------------------------------------------


class CaseRow(Protocol):
    @property
    def case_id(self) -> UUID: ...

    @property
    def period(self) -> str: ...


class CaseSource(Protocol):
    """The part of :class:`ledger.ledger.Ledger` an export reads."""

    def find_case(self, case_id: UUID, /) -> object | None: ...

    def list_cases(self) -> Sequence[CaseRow]: ...


class EvidenceStore(Protocol):
    """The part of :class:`ledger.integrity.store.IntegrityStore` an export reads."""

    def records_of(self, originator_id: UUID, /) -> Sequence[SealedEvent]: ...

    def inclusion(
        self, position: int, tree_size: int | None = None, /
    ) -> tuple[Leaf, int, list[bytes]]: ...

    def latest_checkpoint(self) -> StoredCheckpoint | None: ...

    def signing_keys(self) -> Sequence[KeyRecord]: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


# --- building --------------------------------------------------------------------------


def export_case(
    ledger: CaseSource,
    store: EvidenceStore,
    case_id: str,
    *,
    now: Callable[[], datetime] = _utc_now,
) -> bytes:
    """The bundle of every event of one case, against the latest checkpoint."""
    try:
        case = UUID(case_id.strip())
    except ValueError:
        raise BundleError(
            f"{case_id!r} bukan ID kasus yang valid / {case_id!r} is not a valid case id"
        ) from None
    if ledger.find_case(case) is None:
        raise BundleError(f"kasus {case} tidak ditemukan / case {case} not found")
    return _export(store, {"kind": "case", "case_id": str(case)}, [case], now)


def export_period(
    ledger: CaseSource,
    store: EvidenceStore,
    quarter: Quarter,
    *,
    now: Callable[[], datetime] = _utc_now,
) -> bytes:
    """The bundle of every event of every case opened for ``quarter``."""
    cases = [row.case_id for row in ledger.list_cases() if _quarter_of(row.period) == quarter]
    if not cases:
        raise BundleError(f"tidak ada kasus untuk periode {quarter} / no case for period {quarter}")
    subject = {"kind": "period", "period": str(quarter), "cases": [str(c) for c in cases]}
    return _export(store, subject, cases, now)


def _quarter_of(period: str) -> Quarter | None:
    try:
        return Quarter.parse(period)
    except InvalidPeriodError:
        return None


def _export(
    store: EvidenceStore,
    subject: dict[str, Any],
    cases: Sequence[UUID],
    now: Callable[[], datetime],
) -> bytes:
    """Records and proofs of ``cases``, all against the latest checkpoint."""
    latest = store.latest_checkpoint()
    if latest is None:
        raise BundleError(
            "belum ada checkpoint: jalankan sop-ledger checkpoint dulu / "
            "no checkpoint yet: run sop-ledger checkpoint first"
        )
    records = [record for case in cases for record in store.records_of(case)]
    if not records:
        raise BundleError(
            f"kasus {', '.join(map(str, cases))} tanpa peristiwa tersegel / "
            "no sealed event for the case(s)"
        )
    newer = [r.position for r in records if r.leaf_index >= latest.tree_size]
    if newer:
        raise _not_checkpointed(newer[0], latest.tree_size)
    proofs: list[InclusionProof] = []
    for record in records:
        try:
            leaf, size, proof = store.inclusion(record.position, latest.tree_size)
        except NotSealedError:
            raise _not_checkpointed(record.position, latest.tree_size) from None
        proofs.append((leaf.leaf_index, size, proof))
    keys = [key.verifier_key for key in store.signing_keys()]
    return build_bundle(subject, records, proofs, latest.note, keys=keys, exported_at=now())


def _not_checkpointed(position: int, size: int) -> BundleError:
    return BundleError(
        f"peristiwa di posisi {position} lebih baru dari checkpoint terakhir (ukuran {size}): "
        f"jalankan sop-ledger checkpoint dulu / the event at position {position} is newer "
        f"than the latest checkpoint (tree size {size}): run sop-ledger checkpoint first"
    )


def build_bundle(
    subject: Mapping[str, Any],
    records: Sequence[SealedEvent],
    proofs: Sequence[InclusionProof],
    checkpoint: str,
    *,
    keys: Sequence[str],
    exported_at: datetime,
) -> bytes:
    """The bundle JSON (indented UTF-8). ``proofs[i]`` is the proof of ``records[i]``,
    every one against the tree of the signed ``checkpoint`` note."""
    cases = set(_subject_cases(dict(subject)))
    head = _unsigned_checkpoint(checkpoint)
    if len(proofs) != len(records):
        raise BundleError(
            f"{len(records)} peristiwa, {len(proofs)} bukti / "
            f"{len(records)} records but {len(proofs)} proofs"
        )
    if exported_at.tzinfo is None:
        raise BundleError("exported_at tanpa zona waktu / exported_at has no time zone")
    verifiers = [_verifier(text, "keys") for text in keys]
    events = []
    for record, (index, size, proof) in sorted(
        zip(records, proofs, strict=True), key=lambda pair: pair[0].position
    ):
        if record.originator_id not in cases:
            raise BundleError(
                f"kasus {record.originator_id} di luar subjek / "
                f"case {record.originator_id} is not in the subject"
            )
        if index != record.leaf_index or size != head.size:
            raise BundleError(
                f"bukti posisi {record.position} bukan untuk daun {record.leaf_index} pada "
                f"ukuran {head.size} / the proof of position {record.position} is not for "
                f"leaf {record.leaf_index} in the checkpoint's tree of size {head.size}"
            )
        events.append(_event_json(record, proof))
    document = {
        "format": FORMAT,
        "subject": dict(subject),
        "exported_at": _stamp(exported_at),
        "checkpoint": checkpoint,
        "tree_size": head.size,
        "root_hash": _b64(head.root_hash),
        "keys": list(keys),
        "signed_by": [key.to_text() for key in verifiers if _signs(checkpoint, key)],
        "how_to_verify": HOW_TO_VERIFY,
        "events": events,
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def _event_json(record: SealedEvent, proof: Sequence[bytes]) -> dict[str, Any]:
    try:
        state = record.state.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(
            f"state posisi {record.position} bukan UTF-8 / "
            f"the state at position {record.position} is not UTF-8"
        ) from None
    return {
        "position": record.position,
        "leaf_index": record.leaf_index,
        "case_id": str(record.originator_id),
        "version": record.version,
        "topic": record.topic,
        "state": state,
        "previous": None if record.previous is None else record.previous.hex(),
        "leaf_hash": record.leaf_hash.hex(),
        "inclusion_proof": [_b64(node) for node in proof],
    }


def _unsigned_checkpoint(note: str) -> Checkpoint:
    """The checkpoint a note carries, its signatures not checked (building only)."""
    split = note.rfind("\n\n")
    try:
        if split < 0:
            raise NoteError("tanpa tanda tangan / no signature block")
        return parse_checkpoint(note[: split + 1])
    except NoteError as error:
        raise BundleError(f"checkpoint tidak valid / invalid checkpoint: {error}") from None


def _signs(note: str, key: Verifier) -> bool:
    try:
        open_note(note.encode("utf-8"), [key])
    except NoteError:
        return False
    return True


# --- reading ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Event:
    position: int
    leaf_index: int
    case_id: UUID
    version: int
    topic: str
    state: bytes
    previous: bytes | None
    leaf_hash: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class _Bundle:
    subject: dict[str, Any]
    cases: tuple[UUID, ...]
    checkpoint: str
    tree_size: int
    root_hash: bytes
    keys: tuple[Verifier, ...]
    events: tuple[_Event, ...]


def _parse(data: bytes) -> _Bundle:
    try:
        top = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise _invalid("(JSON)", "bukan JSON utuh", f"not complete JSON ({error})") from None
    document = _object(top, "(bundle)")
    if _str(document, "format", "") != FORMAT:
        raise _invalid("format", f"harus {FORMAT}", f"must be {FORMAT}")
    subject = _object(_get(document, "subject", ""), "subject")
    cases = tuple(dict.fromkeys(_subject_cases(subject)))
    _time_field(document, "exported_at")
    keys = _list(document, "keys", "")
    events = _list(document, "events", "")
    bundle = _Bundle(
        subject=subject,
        cases=cases,
        checkpoint=_str(document, "checkpoint", ""),
        tree_size=_count(document, "tree_size", ""),
        root_hash=_hash_b64(document, "root_hash", ""),
        keys=tuple(_verifier(_item_str(k, f"keys[{i}]"), f"keys[{i}]") for i, k in enumerate(keys)),
        events=tuple(_parse_event(e, f"events[{i}]") for i, e in enumerate(events)),
    )
    for i, event in enumerate(bundle.events):
        if event.case_id not in cases:
            raise _invalid(
                f"events[{i}].case_id",
                f"kasus {event.case_id} tidak ada di subject",
                f"case {event.case_id} is not in the subject",
            )
    return bundle


def _subject_cases(subject: dict[str, Any]) -> list[UUID]:
    kind = _str(subject, "kind", "subject")
    if kind == "case":
        return [_uuid(subject, "case_id", "subject")]
    if kind == "period":
        _str(subject, "period", "subject")
        return [
            _uuid_text(_item_str(c, f"subject.cases[{i}]"), f"subject.cases[{i}]")
            for i, c in enumerate(_list(subject, "cases", "subject"))
        ]
    raise _invalid("subject.kind", "harus case atau period", "must be case or period")


def _parse_event(value: Any, where: str) -> _Event:
    event = _object(value, where)
    previous = _get(event, "previous", where)
    proof = _list(event, "inclusion_proof", where)
    return _Event(
        position=_count(event, "position", where),
        leaf_index=_count(event, "leaf_index", where),
        case_id=_uuid(event, "case_id", where),
        version=_count(event, "version", where),
        topic=_str(event, "topic", where),
        state=_str(event, "state", where).encode("utf-8"),
        previous=None if previous is None else _hash_hex(event, "previous", where),
        leaf_hash=_hash_hex(event, "leaf_hash", where),
        proof=tuple(
            _b64_hash(
                _item_str(node, f"{where}.inclusion_proof[{i}]"), f"{where}.inclusion_proof[{i}]"
            )
            for i, node in enumerate(proof)
        ),
    )


def _name(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _get(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise _invalid(_name(where, key), "tidak ada", "missing")
    return obj[key]


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(field, "harus objek JSON", "must be a JSON object")
    return value


def _str(obj: dict[str, Any], key: str, where: str) -> str:
    return _item_str(_get(obj, key, where), _name(where, key))


def _item_str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _invalid(field, "harus string", "must be a string")
    return value


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = _get(obj, key, where)
    if not isinstance(value, list):
        raise _invalid(_name(where, key), "harus larik", "must be an array")
    return value


def _count(obj: dict[str, Any], key: str, where: str) -> int:
    value = _get(obj, key, where)
    if type(value) is not int or not 0 <= value <= MAX_EXACT_INT:
        raise _invalid(
            _name(where, key), "harus bilangan bulat 0..2**53", "must be an integer in 0..2**53"
        )
    return value


def _uuid(obj: dict[str, Any], key: str, where: str) -> UUID:
    return _uuid_text(_str(obj, key, where), _name(where, key))


def _uuid_text(text: str, field: str) -> UUID:
    """Only the canonical lowercase hyphenated form: the one hashed."""
    try:
        parsed = UUID(text)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != text:
        raise _invalid(field, "harus UUID huruf kecil bertanda hubung", "must be a lowercase UUID")
    return parsed


def _hash_hex(obj: dict[str, Any], key: str, where: str) -> bytes:
    text = _str(obj, key, where)
    if not _HEX_HASH.fullmatch(text):
        raise _invalid(_name(where, key), "harus 64 digit heksa", "must be 64 lowercase hex digits")
    return bytes.fromhex(text)


def _hash_b64(obj: dict[str, Any], key: str, where: str) -> bytes:
    return _b64_hash(_str(obj, key, where), _name(where, key))


def _b64_hash(text: str, field: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != merkle.HASH_SIZE:
        raise _invalid(field, "harus hash 32 byte base64", "must be a base64 32-byte hash")
    return raw


def _time_field(obj: dict[str, Any], key: str) -> datetime:
    text = _str(obj, key, "")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _invalid(key, "harus waktu RFC 3339", "must be an RFC 3339 time")
    return moment


def _verifier(text: str, field: str) -> Verifier:
    try:
        return Verifier.from_text(text)
    except NoteError as error:
        raise _invalid(
            field, "kunci verifikasi tidak valid", f"invalid verifier key ({error})"
        ) from None


# --- verifying -------------------------------------------------------------------------


def verify_bundle(data: bytes, trusted: Sequence[Verifier] | None = None) -> BundleResult:
    """Check a bundle offline. Without ``trusted`` keys the bundle's own keys are used and
    the result says so (``self_asserted_keys``). Raises :class:`BundleError` only for a
    file that is not a bundle; tampering is reported as problems."""
    bundle = _parse(data)
    verifiers = list(trusted) if trusted is not None else list(bundle.keys)
    problems: list[Problem] = []
    head, names = _open(bundle.checkpoint, verifiers, problems)
    if head is not None and (head.size, head.root_hash) != (bundle.tree_size, bundle.root_hash):
        problems.append(Problem(Kind.MISMATCH, None, _mismatch(head, bundle)))
    found = [p for event in bundle.events for p in _check_event(event, head)]
    found += [p for case in bundle.cases for p in _check_chain(case, bundle.events)]
    found.sort(key=lambda p: (p.position is not None, p.position or 0))
    return BundleResult(
        problems=problems + found,
        events=len(bundle.events),
        tree_size=bundle.tree_size if head is None else head.size,
        key_names=names,
        signing_keys=[v.to_text() for v in verifiers if _signs(bundle.checkpoint, v)],
        self_asserted_keys=trusted is None,
        subject=bundle.subject,
        checkpoint_time=None if head is None else head.time,
    )


def _open(
    note: str, verifiers: Sequence[Verifier], problems: list[Problem]
) -> tuple[Checkpoint | None, list[str]]:
    """The signed checkpoint, or None (and a problem) when no trusted key vouches for it."""
    try:
        return open_checkpoint(note.encode("utf-8"), verifiers)
    except BadSignatureError as error:
        problems.append(Problem(Kind.FORGED, None, str(error)))
    except NoTrustedSignatureError as error:
        problems.append(Problem(Kind.UNKNOWN_KEY, None, str(error)))
    except NoteError as error:
        problems.append(Problem(Kind.FORGED, None, str(error)))
    return None, []


def _mismatch(head: Checkpoint, bundle: _Bundle) -> str:
    return (
        f"checkpoint bertanda tangan: ukuran {head.size}, akar {_b64(head.root_hash)}; "
        f"berkas: ukuran {bundle.tree_size}, akar {_b64(bundle.root_hash)} / the signed "
        f"checkpoint has tree size {head.size} and root {_b64(head.root_hash)}, the bundle "
        f"says {bundle.tree_size} and {_b64(bundle.root_hash)}"
    )


def _check_event(event: _Event, head: Checkpoint | None) -> list[Problem]:
    """The event's fields against its leaf hash, and that leaf hash against the signed root
    (not checked when no checkpoint verified: there is no root to trust)."""
    found = []
    where = f"kasus/case {event.case_id} v{event.version}"
    if _recompute(event) != event.leaf_hash:
        found.append(
            Problem(
                Kind.CHANGED_EVENT,
                event.position,
                f"{where}: hash daun dari isinya tidak sama dengan leaf_hash / "
                "the leaf hash of its fields differs from leaf_hash",
            )
        )
    if head is not None and not merkle.verify_inclusion(
        event.leaf_index, head.size, event.leaf_hash, event.proof, head.root_hash
    ):
        found.append(
            Problem(
                Kind.BAD_PROOF,
                event.position,
                f"{where}: bukti inklusi daun {event.leaf_index} tidak berujung pada akar "
                f"checkpoint / the inclusion proof of leaf {event.leaf_index} does not lead "
                "to the checkpoint root",
            )
        )
    return found


def _recompute(event: _Event) -> bytes:
    """Parsing already held every field to what the canonical form takes, so no raise."""
    return leaf_hash(
        canonical_event(
            event.position, event.case_id, event.version, event.topic, event.state, event.previous
        )
    )


def _check_chain(case: UUID, events: Sequence[_Event]) -> list[Problem]:
    """Versions 1..n with no gap, each ``previous`` the leaf of the version before."""
    own = sorted((e for e in events if e.case_id == case), key=lambda e: (e.version, e.position))
    if not own:
        return [
            Problem(
                Kind.MISSING,
                None,
                f"kasus {case} tanpa peristiwa / no event of case {case} in the bundle",
            )
        ]
    found = []
    before: _Event | None = None
    for event in own:
        expected = 1 if before is None else before.version + 1
        problem = _link(case, before, event, expected)
        if problem is not None:
            found.append(problem)
        before = event
    return found


def _link(case: UUID, before: _Event | None, event: _Event, expected: int) -> Problem | None:
    where = f"kasus/case {case} v{event.version}"
    if event.version > expected:
        gap = f"{expected}" if event.version == expected + 1 else f"{expected}..{event.version - 1}"
        return Problem(
            Kind.MISSING,
            event.position,
            f"{where}: versi {gap} tidak ada di berkas / version(s) {gap} missing from the bundle",
        )
    if event.version < expected:
        detail = (
            f"versi {event.version} ganda atau di bawah 1 / "
            f"version {event.version} repeated or below 1"
        )
    elif before is None:
        detail = (
            ""
            if event.previous is None
            else "versi 1 harus previous null / version 1 must have previous null"
        )
    elif event.previous != before.leaf_hash:
        detail = (
            f"previous bukan leaf_hash versi {before.version} / "
            f"previous is not the leaf_hash of version {before.version}"
        )
    elif event.position <= before.position:
        detail = (
            f"posisi tidak naik dari versi {before.version} / position is not after "
            f"that of version {before.version}"
        )
    else:
        detail = ""
    return Problem(Kind.CHAIN, event.position, f"{where}: {detail}") if detail else None


# --- helpers ---------------------------------------------------------------------------


def _describe(subject: Mapping[str, Any]) -> str:
    if subject.get("kind") == "period":
        cases = subject.get("cases", [])
        return f"periode/period {subject.get('period')} ({len(cases)} kasus/cases)"
    return f"kasus/case {subject.get('case_id')}"


def _stamp(moment: datetime) -> str:
    """RFC 3339 UTC to the second, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
