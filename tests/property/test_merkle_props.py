"""The Merkle tree against the literal RFC 9162 reference, on random trees of 0-300 leaves.

Leaf data is distinct per position (a random seed, the position, a random-length tail), so
a proof checked at the wrong place fails because the tree differs, not by luck.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from ledger.core import merkle
from support import rfc9162_reference as ref

MAX_LEAVES = 300


@dataclass(frozen=True)
class Tree:
    data: list[bytes]
    subtrees: merkle.InMemorySubtrees

    @property
    def size(self) -> int:
        return len(self.data)


@st.composite
def trees(draw: st.DrawFn, min_size: int = 0) -> Tree:
    size = draw(st.integers(min_size, MAX_LEAVES))
    seed = draw(st.binary(min_size=4, max_size=4))
    data = [
        seed + i.to_bytes(2, "big") + hashlib.sha256(seed + bytes([i % 256])).digest()[: i % 5]
        for i in range(size)
    ]
    return Tree(data, merkle.InMemorySubtrees(merkle.leaf_hash(x) for x in data))


def flip(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    changed = bytearray(value)
    changed[bit // 8] ^= 1 << bit % 8
    return bytes(changed)


def shape(index: int, size: int) -> tuple[bool, ...]:
    """Which side each sibling of the audit path is on: all the RFC verifier looks at."""
    return tuple(end <= index for _, end in merkle.inclusion_ranges(index, size))


def consistency_shape(first: int, second: int) -> tuple[bool, tuple[bool, ...]]:
    """What the RFC verifier does with a consistency proof: whether it starts from the
    first root (``first`` a power of two) and, per element, whether it lies in the old tree."""
    inside = tuple(end <= first for _, end in merkle.consistency_ranges(first, second))
    prepended = first & (first - 1) == 0
    return prepended, inside if prepended else inside[1:]


@given(trees(), st.data())
def test_roots_and_ranges_are_the_reference_mth(tree: Tree, data: st.DataObject) -> None:
    leaves = [tree.subtrees(0, i) for i in range(tree.size)]
    assert merkle.root(leaves) == ref.mth(tree.data)
    assert tree.subtrees.root() == ref.mth(tree.data)
    assert merkle.range_hash(0, tree.size, tree.subtrees) == ref.mth(tree.data)
    prefix = data.draw(st.integers(0, tree.size), label="prefix")
    assert tree.subtrees.root(prefix) == ref.mth(tree.data[:prefix])
    start = data.draw(st.integers(0, tree.size), label="start")
    end = data.draw(st.integers(start, tree.size), label="end")
    count = end - start
    decomposable = count < 2 or start % (1 << (count - 1).bit_length() - 1) == 0
    try:
        hashed = merkle.range_hash(start, end, tree.subtrees)
    except merkle.MerkleError:
        assert not decomposable
    else:
        assert decomposable
        assert hashed == ref.mth(tree.data[start:end])


@given(trees())
def test_completed_subtrees_are_the_reference_mth_of_their_range(tree: Tree) -> None:
    expected_count = sum(tree.size >> level for level in range(tree.size.bit_length()))
    assert len(tree.subtrees.nodes) == expected_count
    for (level, index), hashed in tree.subtrees.nodes.items():
        assert hashed == ref.mth(tree.data[index << level : (index + 1) << level])


@given(trees(min_size=1), st.data())
def test_inclusion_proofs_are_the_reference_path(tree: Tree, data: st.DataObject) -> None:
    size = data.draw(st.integers(1, tree.size), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, root = tree.subtrees(0, index), tree.subtrees.root(size)
    proof = merkle.inclusion_proof(index, size, tree.subtrees)
    assert proof == ref.path(index, tree.data[:size])
    assert merkle.verify_inclusion(index, size, leaf, proof, root)
    assert ref.verify_inclusion(index, size, leaf, proof, root)
    fetched = {node: tree.subtrees(*node) for node in merkle.inclusion_nodes(index, size)}
    assert merkle.assemble_inclusion(index, size, fetched) == proof


@given(trees(min_size=1), st.data())
def test_consistency_proofs_are_the_reference_proof(tree: Tree, data: st.DataObject) -> None:
    second = data.draw(st.integers(1, tree.size), label="second")
    first = data.draw(st.integers(0, second), label="first")
    first_root, second_root = tree.subtrees.root(first), tree.subtrees.root(second)
    proof = merkle.consistency_proof(first, second, tree.subtrees)
    if 0 < first < second:
        assert proof == ref.proof(first, tree.data[:second])
        assert ref.verify_consistency(first, second, first_root, second_root, proof)
    else:
        assert proof == []
    assert merkle.verify_consistency(first, second, first_root, second_root, proof)
    fetched = {node: tree.subtrees(*node) for node in merkle.consistency_nodes(first, second)}
    assert merkle.assemble_consistency(first, second, fetched) == proof


@given(trees(min_size=1), st.data())
def test_any_flipped_bit_fails_inclusion(tree: Tree, data: st.DataObject) -> None:
    size = data.draw(st.integers(1, tree.size), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, root = tree.subtrees(0, index), tree.subtrees.root(size)
    proof = merkle.inclusion_proof(index, size, tree.subtrees)
    bit = data.draw(st.integers(0, 255), label="bit")
    assert not merkle.verify_inclusion(index, size, flip(leaf, bit), proof, root)
    assert not merkle.verify_inclusion(index, size, leaf, proof, flip(root, bit))
    for position in range(len(proof)):
        changed = [*proof[:position], flip(proof[position], bit), *proof[position + 1 :]]
        assert not merkle.verify_inclusion(index, size, leaf, changed, root)
    assert not merkle.verify_inclusion(index, size, leaf, [*proof, root], root)
    if proof:
        assert not merkle.verify_inclusion(index, size, leaf, proof[:-1], root)


@given(trees(min_size=1), st.data())
def test_wrong_index_or_size_fails_inclusion(tree: Tree, data: st.DataObject) -> None:
    size = data.draw(st.integers(1, tree.size), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, root = tree.subtrees(0, index), tree.subtrees.root(size)
    proof = merkle.inclusion_proof(index, size, tree.subtrees)
    other_index = data.draw(st.integers(0, 2 * size).filter(lambda i: i != index), label="other")
    assert not merkle.verify_inclusion(other_index, size, leaf, proof, root)
    # A wrong size only passes where its audit path has the very same shape: the RFC
    # verifier cannot tell those apart, which is why checkpoints sign size and root together.
    other_size = data.draw(st.integers(0, 2 * size + 2).filter(lambda s: s != size), "size2")
    same_shape = index < other_size and shape(index, other_size) == shape(index, size)
    assert merkle.verify_inclusion(index, other_size, leaf, proof, root) == same_shape


@given(trees(min_size=2), st.data())
def test_tampering_fails_consistency(tree: Tree, data: st.DataObject) -> None:
    second = data.draw(st.integers(2, tree.size), label="second")
    first = data.draw(st.integers(1, second - 1), label="first")
    first_root, second_root = tree.subtrees.root(first), tree.subtrees.root(second)
    proof = merkle.consistency_proof(first, second, tree.subtrees)
    bit = data.draw(st.integers(0, 255), label="bit")
    assert not merkle.verify_consistency(first, second, flip(first_root, bit), second_root, proof)
    assert not merkle.verify_consistency(first, second, first_root, flip(second_root, bit), proof)
    for position in range(len(proof)):
        changed = [*proof[:position], flip(proof[position], bit), *proof[position + 1 :]]
        assert not merkle.verify_consistency(first, second, first_root, second_root, changed)
    assert not merkle.verify_consistency(first, second, first_root, second_root, proof[:-1])
    assert not merkle.verify_consistency(
        first, second, first_root, second_root, [*proof, second_root]
    )
    assert not merkle.verify_consistency(first, second, second_root, first_root, proof)


@given(trees(min_size=2), st.data())
def test_wrong_sizes_fail_consistency(tree: Tree, data: st.DataObject) -> None:
    second = data.draw(st.integers(2, tree.size), label="second")
    first = data.draw(st.integers(1, second - 1), label="first")
    first_root, second_root = tree.subtrees.root(first), tree.subtrees.root(second)
    proof = merkle.consistency_proof(first, second, tree.subtrees)
    expected = consistency_shape(first, second)
    # As with inclusion, only sizes the RFC verifier cannot tell apart (same shape) pass.
    other_first = data.draw(st.integers(0, second).filter(lambda f: f != first), "first2")
    passes = 0 < other_first < second and consistency_shape(other_first, second) == expected
    assert merkle.verify_consistency(other_first, second, first_root, second_root, proof) == passes
    other_second = data.draw(
        st.integers(first, 2 * second).filter(lambda s: s != second), "second2"
    )
    passes = first < other_second and consistency_shape(first, other_second) == expected
    assert merkle.verify_consistency(first, other_second, first_root, second_root, proof) == passes
