"""Read SOP definition files (YAML) into frozen definitions.

The file handling lives here; checking and building are the pure
:mod:`ledger.core.sop_schema`'s job.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ledger.core.errors import DefinitionError
from ledger.core.sop import SopDefinition
from ledger.core.sop_schema import definition_from_mapping

__all__ = ["load_file", "load_seeds", "seed_paths"]

SEEDS_DIR = Path(__file__).parent / "seeds"
_FILE = "(file)"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also refuses a key written twice in one mapping (the plain
    loader silently keeps the last one, which would hide a typo)."""


def _construct_mapping(loader: _SafeLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    seen: list[object] = []
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is written twice", key_node.start_mark
            )
        seen.append(key)
    return loader.construct_mapping(node, deep=True)


_SafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_file(path: Path) -> SopDefinition:
    """Load one definition file; every problem is a DefinitionError naming the file."""
    source = str(path)
    try:
        with path.open("rb") as stream:
            data = yaml.load(stream, Loader=_SafeLoader)  # a SafeLoader: no arbitrary objects
    except OSError as exc:
        raise DefinitionError(source, _FILE, f"cannot be read: {exc}") from exc
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
