"""A payload shaped like one of our action events (~600 bytes of JSON once stored)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import orjson

BASE_TIME = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
TOPIC = "bench.recorded"


def payload(index: int) -> dict[str, Any]:
    """Keyword arguments of one bare command: a few strings, a datetime, a list of dicts."""
    digest = hashlib.sha256(str(index).encode()).hexdigest()
    return {
        "step": index % 9 + 1,
        "actor": "197305131997032005",
        "role": "kepala_biro",
        "capacity": "definitif",
        "recorded_by": "197305131997032005",
        "correlation_id": str(uuid4()),
        "occurred_at": BASE_TIME + timedelta(minutes=index),
        "documents": [
            {
                "title": "Laporan Hasil Evaluasi yang telah divalidasi",
                "type": "naskah_dinas",
                "number": f"2024-Q{index % 4 + 1}/{index % 9 + 1}/biro-org.kelembagaan",
                "sha256": digest,
                "medium": "electronic",
                "classification_code": "000.8.6.3",
            }
        ],
    }


def raw_row(originator_id: UUID, version: int, index: int) -> tuple[UUID, int, str, bytes]:
    """A stored-event row for the raw driver baselines: (id, version, topic, ~600 B state)."""
    state = payload(index)
    state["event_id"] = str(uuid4())
    state["recorded_at"] = state["occurred_at"]
    return originator_id, version, TOPIC, orjson.dumps(state)
