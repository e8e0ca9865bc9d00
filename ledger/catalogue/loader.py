"""Read SOP definition files (YAML) into frozen definitions.

The file handling lives here; checking and building are the pure
:mod:`ledger.core.sop_schema`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from ledger.core.errors import DefinitionError
from ledger.core.sop import SopDefinition
from ledger.core.sop_schema import definition_from_mapping

__all__ = ["load_file", "load_seeds", "seed_paths"]

SEEDS_DIR = Path(__file__).parent / "seeds"
_FILE = "(file)"


def load_file(path: Path) -> SopDefinition:
    """Load one definition file; every problem is a DefinitionError naming the file."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(source, _FILE, f"cannot be read: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DefinitionError(source, _FILE, f"is not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise DefinitionError(source, _FILE, f"must hold a mapping at the top level, not {kind}.")
    return definition_from_mapping(data, source)


def seed_paths() -> list[Path]:
    """The definition files shipped with the ledger, sorted by name."""
    return sorted(SEEDS_DIR.glob("*.yaml"))


def load_seeds() -> list[SopDefinition]:
    """The shipped definitions, in the order of :func:`seed_paths`."""
    return [load_file(path) for path in seed_paths()]
