"""Evidence bundles, offline: built from a small in-memory log with real Ed25519 keys,
then verified clean and after each kind of tampering."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
import pytest

from ledger.core import checkpoint as cp
from ledger.core import eventhash, jcs, merkle
from ledger.core.periods import Quarter
from ledger.integrity import bundle as bd
from ledger.integrity.store import KeyRecord, Leaf, NotSealedError, SealedEvent, StoredCheckpoint

CASE_A = UUID("0b6f3c1e-7a52-4d0e-9d4b-3f2a1c5e8d70")
CASE_B = UUID("5d9e2f4a-1c3b-4e6d-8f70-a1b2c3d4e5f6")
OTHER = UUID("9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d")
ORIGIN = "sop-ledger.example"
SIGNED = datetime(2025, 1, 31, 8, 0, 0, tzinfo=UTC)
EXPORTED = datetime(2025, 2, 3, 9, 30, 15, tzinfo=UTC)
SIGNER_TEXT, VERIFIER_TEXT = cp.generate_signer(ORIGIN)
SIGNER = cp.Signer.from_text(SIGNER_TEXT)
VERIFIER = cp.Verifier.from_text(VERIFIER_TEXT)
# log order: case A and B interleaved with an unrelated aggregate
LOG = [CASE_A, OTHER, CASE_A, CASE_B, CASE_A, CASE_B, OTHER, CASE_A, CASE_B]


@dataclass
class Log:
    records: list[SealedEvent]
    tree: merkle.InMemorySubtrees
    note: str

    def of(self, *cases: UUID) -> list[SealedEvent]:
        return [r for r in self.records if r.originator_id in cases]

    def proofs(self, records: Sequence[SealedEvent]) -> list[bd.InclusionProof]:
        size = self.tree.size
        return [
            (r.leaf_index, size, merkle.inclusion_proof(r.leaf_index, size, self.tree))
            for r in records
        ]


def make_log(order: Sequence[UUID] = LOG) -> Log:
    tree = merkle.InMemorySubtrees()
    records: list[SealedEvent] = []
    last: dict[UUID, tuple[int, bytes]] = {}
    for index, case in enumerate(order):
        version = last.get(case, (0, b""))[0] + 1
        previous = last[case][1] if case in last else None
        state = jcs.canonical_json({"catatan": f"langkah {version} selesai \u2713", "n": index})
        position = index + 1
        leaf = eventhash.event_leaf_hash(position, case, version, "ActionRecorded", state, previous)
        records.append(
            SealedEvent(position, case, version, "ActionRecorded", state, index, leaf, previous)
        )
        tree.append(leaf)
        last[case] = (version, leaf)
    head = cp.Checkpoint(ORIGIN, tree.size, tree.root(), SIGNED)
    return Log(records, tree, cp.sign_checkpoint(head, SIGNER).decode())


def case_bundle(log: Log | None = None) -> bytes:
    log = log or make_log()
    records = log.of(CASE_A)
    return bd.build_bundle(
        {"kind": "case", "case_id": str(CASE_A)},
        records,
        log.proofs(records),
        log.note,
        keys=[VERIFIER_TEXT],
        exported_at=EXPORTED,
    )


def period_bundle(log: Log | None = None) -> bytes:
    log = log or make_log()
    records = log.of(CASE_A, CASE_B)
    subject = {"kind": "period", "period": "2024-Q3", "cases": [str(CASE_A), str(CASE_B)]}
    return bd.build_bundle(
        subject, records, log.proofs(records), log.note, keys=[VERIFIER_TEXT], exported_at=EXPORTED
    )


def edit(data: bytes, change: Callable[[dict[str, Any]], object]) -> bytes:
    document = orjson.loads(data)
    change(document)
    return orjson.dumps(document)


def found(result: bd.BundleResult) -> list[tuple[str, int | None]]:
    return [(str(p.kind), p.position) for p in result.problems]


def flip_hex(text: str) -> str:
    return ("1" if text[0] == "0" else "0") + text[1:]


def flip_b64(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode()


# --- the file ----------------------------------------------------------------------------


def test_bundle_format() -> None:
    log = make_log()
    document = orjson.loads(case_bundle(log))
    assert document["format"] == "sop-ledger-evidence/1"
    assert document["subject"] == {"kind": "case", "case_id": str(CASE_A)}
    assert document["exported_at"] == "2025-02-03T09:30:15Z"
    assert document["checkpoint"] == log.note
    assert document["tree_size"] == len(LOG)
    assert base64.b64decode(document["root_hash"]) == log.tree.root()
    assert document["keys"] == [VERIFIER_TEXT]
    assert document["signed_by"] == [VERIFIER_TEXT]
    assert set(document["how_to_verify"]) == {"id", "en"}
    assert [e["position"] for e in document["events"]] == [1, 3, 5, 8]
    for event, record in zip(document["events"], log.of(CASE_A), strict=True):
        assert event["state"].encode("utf-8") == record.state
        assert event["case_id"] == "0b6f3c1e-7a52-4d0e-9d4b-3f2a1c5e8d70"
        assert event["leaf_index"] == record.leaf_index
        assert event["version"] == record.version
        assert event["previous"] == (None if record.previous is None else record.previous.hex())
        assert bytes.fromhex(event["leaf_hash"]) == record.leaf_hash
        assert all(len(base64.b64decode(node)) == 32 for node in event["inclusion_proof"])


def test_how_to_verify_is_enough_to_recompute_a_leaf_by_hand() -> None:
    """The documented algorithm, with hashlib and string concatenation only."""
    for event in orjson.loads(case_bundle())["events"]:
        previous = "null" if event["previous"] is None else f'"{event["previous"]}"'
        canonical = (
            f'{{"case_id":"{event["case_id"]}","payload":{event["state"]},'
            f'"position":{event["position"]},"previous":{previous},'
            f'"topic":"{event["topic"]}","version":{event["version"]}}}'
        )
        leaf = hashlib.sha256(b"\x00" + canonical.encode("utf-8")).hexdigest()
        assert leaf == event["leaf_hash"]


# --- verifying ---------------------------------------------------------------------------


def test_a_clean_bundle_verifies_with_its_own_keys_flagged_as_self_asserted() -> None:
    result = bd.verify_bundle(case_bundle(), None)
    assert result.ok
    assert result.problems == []
    assert result.events == 4
    assert result.tree_size == len(LOG)
    assert result.key_names == [ORIGIN]
    assert result.signing_keys == [VERIFIER_TEXT]
    assert result.self_asserted_keys
    assert result.checkpoint_time == SIGNED
    summary = result.summary()
    assert "GET /ledger/keys" in summary
    assert VERIFIER.key_id.hex() in summary
    assert "BERES / OK" in summary
    assert result.as_json()["self_asserted_keys"] is True


def test_a_clean_bundle_verifies_with_trusted_keys() -> None:
    result = bd.verify_bundle(case_bundle(), [VERIFIER])
    assert result.ok
    assert not result.self_asserted_keys
    assert "GET /ledger/keys" not in result.summary()
    assert orjson.loads(orjson.dumps(result.as_json()))["ok"] is True


def test_a_clean_period_bundle_verifies() -> None:
    result = bd.verify_bundle(period_bundle(), [VERIFIER])
    assert result.ok, result.summary()
    assert result.events == 7
    assert "2024-Q3" in result.summary()


def test_one_byte_of_a_state_changed() -> None:
    def change(document: dict[str, Any]) -> None:
        event = document["events"][1]
        event["state"] = event["state"].replace("langkah 2", "langkah 3")

    result = bd.verify_bundle(edit(case_bundle(), change), [VERIFIER])
    assert found(result) == [("changed-event", 3)]
    assert "GAGAL / FAILED" in result.summary()


def test_a_leaf_hash_changed() -> None:
    def change(document: dict[str, Any]) -> None:
        event = document["events"][1]
        event["leaf_hash"] = flip_hex(event["leaf_hash"])

    result = bd.verify_bundle(edit(case_bundle(), change), [VERIFIER])
    assert found(result) == [("changed-event", 3), ("bad-proof", 3), ("broken-chain", 5)]


def test_a_proof_element_changed() -> None:
    def change(document: dict[str, Any]) -> None:
        proof = document["events"][2]["inclusion_proof"]
        proof[-1] = flip_b64(proof[-1])

    assert found(bd.verify_bundle(edit(case_bundle(), change), [VERIFIER])) == [("bad-proof", 5)]


def test_an_event_removed_from_a_case_bundle() -> None:
    def change(document: dict[str, Any]) -> None:
        del document["events"][1]

    result = bd.verify_bundle(edit(case_bundle(), change), [VERIFIER])
    assert found(result) == [("missing-event", 5)]
    assert "2" in result.problems[0].detail


def test_the_first_event_removed_from_a_period_bundle() -> None:
    def change(document: dict[str, Any]) -> None:
        del document["events"][2]  # case B version 1, position 4

    result = bd.verify_bundle(edit(period_bundle(), change), [VERIFIER])
    assert found(result) == [("missing-event", 6)]


def test_every_event_of_a_listed_case_removed() -> None:
    def change(document: dict[str, Any]) -> None:
        document["events"] = [e for e in document["events"] if e["case_id"] != str(CASE_B)]

    result = bd.verify_bundle(edit(period_bundle(), change), [VERIFIER])
    assert found(result) == [("missing-event", None)]


def test_two_versions_swapped() -> None:
    def change(document: dict[str, Any]) -> None:
        first, second = document["events"][1], document["events"][2]
        first["version"], second["version"] = second["version"], first["version"]

    result = bd.verify_bundle(edit(case_bundle(), change), [VERIFIER])
    assert found(result) == [
        ("changed-event", 3),
        ("broken-chain", 3),
        ("changed-event", 5),
        ("broken-chain", 5),
        ("broken-chain", 8),
    ]


def test_version_one_with_a_previous_hash() -> None:
    def change(document: dict[str, Any]) -> None:
        document["events"][0]["previous"] = "00" * 32

    result = bd.verify_bundle(edit(case_bundle(), change), [VERIFIER])
    assert found(result) == [("changed-event", 1), ("broken-chain", 1)]


def test_the_checkpoint_root_replaced() -> None:
    log = make_log()
    fake_root = base64.b64encode(hashlib.sha256(b"forged").digest()).decode()
    real_root = base64.b64encode(log.tree.root()).decode()

    def change(document: dict[str, Any]) -> None:
        document["checkpoint"] = document["checkpoint"].replace(real_root, fake_root)
        document["root_hash"] = fake_root

    for trusted in ([VERIFIER], None):
        result = bd.verify_bundle(edit(case_bundle(log), change), trusted)
        assert found(result) == [("forged-checkpoint", None)]
        assert result.signing_keys == []


def test_the_bundle_root_differs_from_the_signed_one() -> None:
    def change(document: dict[str, Any]) -> None:
        document["root_hash"] = flip_b64(document["root_hash"])
        document["tree_size"] += 1

    result = bd.verify_bundle(edit(case_bundle(), change), [VERIFIER])
    assert found(result) == [("checkpoint-mismatch", None)]


def test_the_note_resigned_with_another_key() -> None:
    forger_text, forged_verifier_text = cp.generate_signer(ORIGIN)
    log = make_log()
    head = cp.Checkpoint(ORIGIN, log.tree.size, log.tree.root(), SIGNED)
    forged_note = cp.sign_checkpoint(head, cp.Signer.from_text(forger_text)).decode()

    def change(document: dict[str, Any]) -> None:
        document["checkpoint"] = forged_note
        document["keys"] = [forged_verifier_text]

    forged = edit(case_bundle(log), change)
    result = bd.verify_bundle(forged, [VERIFIER])
    assert found(result) == [("unknown-key", None)]
    assert result.key_names == []
    # on its own keys it "verifies": only the key ID, compared with GET /ledger/keys, tells
    self_asserted = bd.verify_bundle(forged, None)
    assert self_asserted.ok
    assert self_asserted.self_asserted_keys
    assert self_asserted.signing_keys == [forged_verifier_text]
    assert forged_verifier_text.split("+")[1] in self_asserted.summary()
    assert VERIFIER.key_id.hex() not in self_asserted.summary()


# --- not a bundle ------------------------------------------------------------------------


def test_truncated_json() -> None:
    data = case_bundle()
    with pytest.raises(bd.BundleError, match="JSON"):
        bd.verify_bundle(data[: len(data) // 2], None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("checkpoint"), "checkpoint"),
        (lambda d: d.pop("events"), "events"),
        (lambda d: d["events"][1].pop("leaf_hash"), "events[1].leaf_hash"),
        (lambda d: d["events"][0].pop("previous"), "events[0].previous"),
        (lambda d: d.update(tree_size="9"), "tree_size"),
        (lambda d: d["events"][2].update(version=True), "events[2].version"),
        (lambda d: d["events"][2].update(state={"n": 1}), "events[2].state"),
        (
            lambda d: d["events"][0]["inclusion_proof"].__setitem__(0, "AAAA"),
            "events[0].inclusion_proof[0]",
        ),
        (lambda d: d["events"][0].update(case_id=str(CASE_A).upper()), "events[0].case_id"),
        (lambda d: d["events"][0].update(case_id=str(CASE_B)), "events[0].case_id"),
        (lambda d: d["keys"].append("not a key"), "keys[1]"),
        (lambda d: d.update(format="something/2"), "format"),
        (lambda d: d["subject"].update(kind="unit"), "subject.kind"),
        (lambda d: d.pop("exported_at"), "exported_at"),
    ],
)
def test_missing_or_mistyped_fields_are_named(
    change: Callable[[dict[str, Any]], object], field: str
) -> None:
    with pytest.raises(bd.BundleError, match="invalid evidence bundle") as caught:
        bd.verify_bundle(edit(case_bundle(), change), None)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_building_refuses_a_state_that_is_not_utf8() -> None:
    log = make_log()
    record = log.of(CASE_A)[0]
    broken = dataclasses.replace(record, state=b'{"x":"\xff"}')
    with pytest.raises(bd.BundleError, match="UTF-8"):
        bd.build_bundle(
            {"kind": "case", "case_id": str(CASE_A)},
            [broken],
            log.proofs([record]),
            log.note,
            keys=[VERIFIER_TEXT],
            exported_at=EXPORTED,
        )


# --- exporting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    case_id: UUID
    period: str


@dataclass
class FakeLedger:
    cases: list[Summary]

    def find_case(self, case_id: UUID, /) -> object | None:
        return next((c for c in self.cases if c.case_id == case_id), None)

    def list_cases(self) -> list[Summary]:
        return self.cases


@dataclass
class FakeStore:
    """The in-memory log behind the store's read API; ``checkpointed`` leaves signed."""

    log: Log
    checkpointed: int | None
    notes: dict[int, str] = field(default_factory=dict)

    def records_of(self, originator_id: UUID, /) -> list[SealedEvent]:
        return self.log.of(originator_id)

    def inclusion(
        self, position: int, tree_size: int | None = None, /
    ) -> tuple[Leaf, int, list[bytes]]:
        size = self.checkpointed if tree_size is None else tree_size
        record = next(r for r in self.log.records if r.position == position)
        if size is None or record.leaf_index >= size:
            raise NotSealedError(position)
        leaf = Leaf(
            record.leaf_index, position, record.originator_id, record.version, record.leaf_hash
        )
        return leaf, size, merkle.inclusion_proof(record.leaf_index, size, self.log.tree)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        if self.checkpointed is None:
            return None
        size = self.checkpointed
        head = cp.Checkpoint(ORIGIN, size, self.log.tree.root(size), SIGNED)
        note = cp.sign_checkpoint(head, SIGNER).decode()
        return StoredCheckpoint(size, head.root_hash, SIGNED, ORIGIN, note)

    def signing_keys(self) -> list[KeyRecord]:
        retired_text = cp.generate_signer("old")[1]
        return [
            KeyRecord(retired_text, "old", "retired", SIGNED),
            KeyRecord(VERIFIER_TEXT, ORIGIN, "active", SIGNED),
        ]


LEDGER = FakeLedger(
    [Summary(CASE_A, "2024-Q3"), Summary(CASE_B, "2024-Q3"), Summary(OTHER, "2024-Q4")]
)


def now() -> datetime:
    return EXPORTED


def test_export_case_verifies() -> None:
    data = bd.export_case(LEDGER, FakeStore(make_log(), len(LOG)), str(CASE_A), now=now)
    document = orjson.loads(data)
    assert len(document["keys"]) == 2
    assert document["signed_by"] == [VERIFIER_TEXT]
    result = bd.verify_bundle(data, [VERIFIER])
    assert result.ok, result.summary()
    assert result.events == 4


def test_export_period_verifies() -> None:
    data = bd.export_period(LEDGER, FakeStore(make_log(), len(LOG)), Quarter(2024, 3), now=now)
    result = bd.verify_bundle(data, None)
    assert result.ok, result.summary()
    assert result.subject["cases"] == [str(CASE_A), str(CASE_B)]
    assert result.events == 7


def test_export_without_a_checkpoint() -> None:
    with pytest.raises(bd.BundleError, match="sop-ledger checkpoint"):
        bd.export_case(LEDGER, FakeStore(make_log(), None), str(CASE_A), now=now)


def test_export_of_events_newer_than_the_checkpoint() -> None:
    with pytest.raises(bd.BundleError, match=r"position 8 .*sop-ledger checkpoint"):
        bd.export_case(LEDGER, FakeStore(make_log(), 7), str(CASE_A), now=now)


@pytest.mark.parametrize("case_id", ["not-a-case", str(UUID(int=7))])
def test_export_of_an_unknown_case(case_id: str) -> None:
    with pytest.raises(bd.BundleError, match=case_id):
        bd.export_case(LEDGER, FakeStore(make_log(), len(LOG)), case_id, now=now)


def test_export_of_a_period_without_cases() -> None:
    with pytest.raises(bd.BundleError, match="2023-Q1"):
        bd.export_period(LEDGER, FakeStore(make_log(), len(LOG)), Quarter(2023, 1), now=now)
