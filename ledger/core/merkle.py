"""RFC 9162 (Certificate Transparency 2.0, section 2.1) Merkle tree over the event log.

Any client that knows RFC 9162 (or C2SP tlog) can check our roots and proofs, so every
hash and every proof here is exactly the RFC's: leaves ``SHA-256(0x00 || data)``, inner
nodes ``SHA-256(0x01 || left || right)``, the empty tree ``SHA-256("")``, the left subtree
of ``n`` leaves holding the largest power of two below ``n``.

Nothing here needs all the leaves. Every node of an RFC tree covers a range that splits
into a few *complete aligned subtrees* (``2**level`` leaves starting at a multiple of
``2**level``), and those never change once complete. The store keeps them, keyed by
``(level, index)`` for leaves ``[index * 2**level, (index + 1) * 2**level)``, and hands
them out through a :data:`Subtrees` accessor. :func:`completed_nodes` says which ones a
new leaf completes (:func:`append_nodes` for a batch, from the stored frontier alone); a
proof takes O(log n) of them. For one round trip to the store, ask
:func:`inclusion_nodes` / :func:`consistency_nodes` which to fetch, then
:func:`assemble_inclusion` / :func:`assemble_consistency`.

The verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 and never raise: a garbage
proof is just a proof that does not verify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

Node = tuple[int, int]
"""``(level, index)``: the complete subtree of leaves ``[index << level, (index + 1) << level)``."""

Range = tuple[int, int]
"""``(start, end)``: leaves ``[start, end)``."""

Subtrees = Callable[[int, int], bytes]
"""Hash of the complete aligned subtree at ``(level, index)``; level 0 is the leaf hash."""

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class MerkleError(ValueError):
    """A proof or range asked for with impossible arguments, or a subtree is missing."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


# --- roots -----------------------------------------------------------------------------


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already hashed leaves, in O(n) hashing and O(log n) memory."""
    stack: list[tuple[int, bytes]] = []
    for hashed in leaf_hashes:
        level, current = 0, hashed
        while stack and stack[-1][0] == level:
            current = node_hash(stack.pop()[1], current)
            level += 1
        stack.append((level, current))
    return root_from_frontier([hashed for _, hashed in stack])


def frontier(size: int) -> list[Node]:
    """The complete aligned subtrees, largest first, that together cover ``[0, size)``."""
    _check_size(size)
    nodes: list[Node] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def root_from_frontier(hashes: Sequence[bytes]) -> bytes:
    """The root from the hashes of :func:`frontier` (folded from the right, as MTH nests)."""
    if not hashes:
        return EMPTY_ROOT
    current = hashes[-1]
    for left in reversed(hashes[:-1]):
        current = node_hash(left, current)
    return current


def range_nodes(start: int, end: int) -> list[Node]:
    """The complete aligned subtrees whose fold is MTH of leaves ``[start, end)``.

    MTH splits ``n`` leaves after the largest power of two ``k < n``; the range has a
    short form only when that left part is itself aligned (``start % k == 0``), which
    holds for every subtree of an RFC tree and so for every proof element.
    """
    if not 0 <= start <= end:
        raise MerkleError(f"rentang tidak valid / invalid range [{start}, {end})")
    nodes: list[Node] = []
    while end - start > 0:
        count = end - start
        if count & (count - 1) == 0 and start % count == 0:
            nodes.append((count.bit_length() - 1, start // count))
            break
        split = _split(count)
        if start % split:
            raise MerkleError(
                "rentang tidak tersusun dari subpohon sejajar / "
                f"range [{start}, {end}) is not made of aligned subtrees"
            )
        nodes.append((split.bit_length() - 1, start // split))
        start += split
    return nodes


def range_hash(start: int, end: int, subtree: Subtrees) -> bytes:
    """MTH of leaves ``[start, end)`` from at most log2(n) + 1 stored subtree hashes."""
    return root_from_frontier([subtree(level, index) for level, index in range_nodes(start, end)])


# --- building --------------------------------------------------------------------------


def completed_nodes(index: int, leaf: bytes, subtree: Subtrees) -> list[tuple[int, int, bytes]]:
    """``(level, index, hash)`` of every subtree leaf ``index`` completes, level 0 first.

    Leaf ``i`` completes one subtree per trailing one bit of ``i``: each is a right
    child whose left sibling (``subtree(level, index - 1)``) is already stored.
    """
    _check_size(index)
    nodes = [(0, index, leaf)]
    level, position, current = 0, index, leaf
    while position & 1:
        current = node_hash(subtree(level, position - 1), current)
        level, position = level + 1, position >> 1
        nodes.append((level, position, current))
    return nodes


def append_nodes(
    size: int, frontier_hashes: Sequence[bytes], leaves: Iterable[bytes]
) -> list[tuple[int, int, bytes]]:
    """Every subtree completed by appending ``leaves`` to a tree of ``size`` leaves.

    A batch needs no other stored hash than those of ``frontier(size)`` (one query):
    each left sibling is either on that frontier or made earlier in the batch.
    """
    nodes = frontier(size)
    if len(frontier_hashes) != len(nodes):
        raise MerkleError(
            f"perlu {len(nodes)} hash frontier / "
            f"{len(nodes)} frontier hashes needed, got {len(frontier_hashes)}"
        )
    known = dict(zip(nodes, frontier_hashes, strict=True))
    made: list[tuple[int, int, bytes]] = []
    for offset, leaf in enumerate(leaves):
        for level, index, hashed in completed_nodes(size + offset, leaf, _lookup(known)):
            known[level, index] = hashed
            made.append((level, index, hashed))
    return made


class InMemorySubtrees:
    """A :data:`Subtrees` accessor holding every complete subtree in a dict (tests, small
    trees): call it as ``subtrees(level, index)``."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.nodes: dict[Node, bytes] = {}
        self.size = 0
        for hashed in leaf_hashes:
            self.append(hashed)

    def __call__(self, level: int, index: int) -> bytes:
        return _lookup(self.nodes)(level, index)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf hash; returns the subtrees it completed."""
        made = completed_nodes(self.size, leaf, self)
        for level, index, hashed in made:
            self.nodes[level, index] = hashed
        self.size += 1
        return made

    def root(self, size: int | None = None) -> bytes:
        """The root at ``size`` leaves (default: all), any earlier size included."""
        size = self.size if size is None else size
        if size > self.size:
            raise MerkleError(f"pohon hanya {self.size} daun / the tree has {self.size} leaves")
        return root_from_frontier([self(level, index) for level, index in frontier(size)])


# --- proofs ----------------------------------------------------------------------------


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The leaf ranges whose MTHs are PATH(index, D[size]), in proof order (leaf upwards)."""
    if not 0 <= index < size:
        raise MerkleError(f"indeks di luar pohon / index {index} outside a tree of {size} leaves")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start = middle
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The leaf ranges whose MTHs are PROOF(first, D[second]), in proof order.

    Empty when ``first == second`` (the roots must simply be equal) or ``first == 0``
    (every tree extends the empty one).
    """
    if not 0 <= first <= second:
        raise MerkleError(f"ukuran pohon tidak valid / invalid tree sizes {first} and {second}")
    ranges: list[Range] = []
    if first in (0, second):
        return ranges
    start, end, own = 0, second, True  # SUBPROOF(first - start, D[start:end], own)
    while first != end:
        middle = start + _split(end - start)
        if first <= middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((start, middle))
            start, own = middle, False
    if not own:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, subtree: Subtrees) -> list[bytes]:
    """RFC 9162 PATH(index, D[size]): the audit path of leaf ``index``."""
    return [range_hash(start, end, subtree) for start, end in inclusion_ranges(index, size)]


def consistency_proof(first: int, second: int, subtree: Subtrees) -> list[bytes]:
    """RFC 9162 PROOF(first, D[second]) (empty for ``first`` 0 or equal sizes)."""
    return [range_hash(start, end, subtree) for start, end in consistency_ranges(first, second)]


def inclusion_nodes(index: int, size: int) -> list[Node]:
    """Every stored subtree :func:`assemble_inclusion` needs, without repeats."""
    return _nodes_of(inclusion_ranges(index, size))


def consistency_nodes(first: int, second: int) -> list[Node]:
    """Every stored subtree :func:`assemble_consistency` needs, without repeats."""
    return _nodes_of(consistency_ranges(first, second))


def assemble_inclusion(index: int, size: int, hashes: Mapping[Node, bytes]) -> list[bytes]:
    """:func:`inclusion_proof` from the fetched hashes of :func:`inclusion_nodes`."""
    return inclusion_proof(index, size, _lookup(hashes))


def assemble_consistency(first: int, second: int, hashes: Mapping[Node, bytes]) -> list[bytes]:
    """:func:`consistency_proof` from the fetched hashes of :func:`consistency_nodes`."""
    return consistency_proof(first, second, _lookup(hashes))


# --- verification ----------------------------------------------------------------------


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: does ``proof`` put ``leaf`` at ``index`` under the root?"""
    if not (_is_count(index) and _is_count(size) and index < size):
        return False
    if not (_is_hash(leaf) and _is_hash(expected_root) and _are_hashes(proof)):
        return False
    fn, sn, current = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            current = node_hash(sibling, current)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            current = node_hash(current, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and current == expected_root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of ``first`` leaves a prefix of ``second``?

    Outside the RFC's ``0 < first < second``: equal sizes need an empty proof and equal
    roots; ``first == 0`` needs an empty proof and the empty-tree root as ``first_root``.
    """
    if not (_is_count(first) and _is_count(second) and first <= second):
        return False
    if not (_is_hash(first_root) and _is_hash(second_root) and _are_hashes(proof)):
        return False
    if first == 0:
        return not proof and first_root == EMPTY_ROOT and (second > 0 or second_root == EMPTY_ROOT)
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first_hash = second_hash = path[0]
    for step in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first_hash = node_hash(step, first_hash)
            second_hash = node_hash(step, second_hash)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            second_hash = node_hash(second_hash, step)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and first_hash == first_root and second_hash == second_root


# --- helpers ---------------------------------------------------------------------------


def _split(count: int) -> int:
    """The largest power of two strictly below ``count`` (``count >= 2``)."""
    return 1 << ((count - 1).bit_length() - 1)


def _check_size(value: int) -> None:
    if value < 0:
        raise MerkleError(f"angka negatif / negative number {value}")


def _nodes_of(ranges: Iterable[Range]) -> list[Node]:
    return list(dict.fromkeys(node for start, end in ranges for node in range_nodes(start, end)))


def _lookup(hashes: Mapping[Node, bytes]) -> Subtrees:
    def subtree(level: int, index: int) -> bytes:
        try:
            return hashes[level, index]
        except KeyError:
            raise MerkleError(
                f"subpohon tidak tersedia / subtree ({level}, {index}) not available"
            ) from None

    return subtree


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 0


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _are_hashes(values: object) -> bool:
    return (
        isinstance(values, Sequence)
        and not isinstance(values, bytes | str)
        and all(_is_hash(value) for value in values)
    )
