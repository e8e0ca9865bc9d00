"""RFC 9162 Merkle tree: published vectors, the C2SP worked example, edge cases, and
every proof of every small tree against the literal RFC reference."""

from __future__ import annotations

import hashlib

import pytest

from ledger.core import merkle
from support import rfc9162_reference as ref

# transparency-dev/merkle testonly/constants.go (the Certificate Transparency vectors).
LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    bytes.fromhex(h)
    for h in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
NODE_HASHES = {
    (0, 0): "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    (0, 1): "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    (0, 2): "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    (0, 3): "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    (0, 4): "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    (0, 5): "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    (0, 6): "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    (0, 7): "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    (1, 0): "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    (1, 1): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    (1, 2): "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    (1, 3): "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    (2, 0): "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    (2, 1): "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    (3, 0): "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
# transparency-dev/merkle proof/verify_test.go (0-based leaf indices here).
INCLUSION_VECTORS = [
    (0, 8, [NODE_HASHES[0, 1], NODE_HASHES[1, 1], NODE_HASHES[2, 1]]),
    (5, 8, [NODE_HASHES[0, 4], NODE_HASHES[1, 3], NODE_HASHES[2, 0]]),
    (2, 3, [NODE_HASHES[1, 0]]),
    (1, 5, [NODE_HASHES[0, 0], NODE_HASHES[1, 1], NODE_HASHES[0, 4]]),
]
CONSISTENCY_VECTORS = [
    (1, 8, [NODE_HASHES[0, 1], NODE_HASHES[1, 1], NODE_HASHES[2, 1]]),
    (6, 8, [NODE_HASHES[1, 2], NODE_HASHES[1, 3], NODE_HASHES[2, 0]]),
    (2, 5, [NODE_HASHES[1, 1], NODE_HASHES[0, 4]]),
    (6, 7, [NODE_HASHES[1, 2], NODE_HASHES[0, 6], NODE_HASHES[2, 0]]),
]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


@pytest.fixture(scope="module")
def tree() -> merkle.InMemorySubtrees:
    return merkle.InMemorySubtrees(merkle.leaf_hash(data) for data in LEAF_INPUTS)


def _hex(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def test_hashes_are_domain_separated_sha256() -> None:
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()
    assert merkle.EMPTY_ROOT == hashlib.sha256(b"").digest() == ROOTS[0]


def test_roots_of_the_reference_leaves(tree: merkle.InMemorySubtrees) -> None:
    leaves = [merkle.leaf_hash(data) for data in LEAF_INPUTS]
    for size, expected in enumerate(ROOTS):
        assert merkle.root(leaves[:size]) == expected
        assert tree.root(size) == expected
        assert merkle.range_hash(0, size, tree) == expected


def test_stored_subtrees_are_the_reference_node_hashes(tree: merkle.InMemorySubtrees) -> None:
    assert {node: hashed.hex() for node, hashed in tree.nodes.items()} == NODE_HASHES


def test_frontiers_are_the_reference_compact_trees(tree: merkle.InMemorySubtrees) -> None:
    expected = [
        [],
        [(0, 0)],
        [(1, 0)],
        [(1, 0), (0, 2)],
        [(2, 0)],
        [(2, 0), (0, 4)],
        [(2, 0), (1, 2)],
        [(2, 0), (1, 2), (0, 6)],
        [(3, 0)],
    ]
    assert [merkle.frontier(size) for size in range(9)] == expected
    for size, nodes in enumerate(expected):
        assert merkle.root_from_frontier([tree(*node) for node in nodes]) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_vectors(
    tree: merkle.InMemorySubtrees, index: int, size: int, proof: list[str]
) -> None:
    assert _hex(merkle.inclusion_proof(index, size, tree)) == proof
    leaf = merkle.leaf_hash(LEAF_INPUTS[index])
    assert merkle.verify_inclusion(
        index, size, leaf, [bytes.fromhex(p) for p in proof], ROOTS[size]
    )


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_consistency_vectors(
    tree: merkle.InMemorySubtrees, first: int, second: int, proof: list[str]
) -> None:
    assert _hex(merkle.consistency_proof(first, second, tree)) == proof
    hashes = [bytes.fromhex(p) for p in proof]
    assert merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], hashes)


def test_the_c2sp_seven_leaf_example() -> None:
    data = [f"d[{i}]".encode() for i in range(7)]
    a, b, c, d, e, f, g = (hashlib.sha256(b"\x00" + x).digest() for x in data)

    def node(left: bytes, right: bytes) -> bytes:
        return hashlib.sha256(b"\x01" + left + right).digest()

    h, i, j = node(a, b), node(c, d), node(e, f)
    k, l_ = node(h, i), node(j, g)
    tree = merkle.InMemorySubtrees([a, b, c, d, e, f, g])
    assert tree.root() == node(k, l_)
    assert merkle.inclusion_proof(0, 7, tree) == [b, i, l_]
    assert merkle.inclusion_proof(3, 7, tree) == [c, h, l_]
    assert merkle.inclusion_proof(4, 7, tree) == [f, g, k]
    assert merkle.inclusion_proof(6, 7, tree) == [j, k]
    assert merkle.consistency_proof(3, 7, tree) == [c, d, h, l_]
    assert merkle.consistency_proof(4, 7, tree) == [l_]
    assert merkle.consistency_proof(6, 7, tree) == [j, g, k]


def test_every_proof_of_every_small_tree_is_the_rfcs() -> None:
    data = [bytes([i, i * 7 % 256]) for i in range(33)]
    tree = merkle.InMemorySubtrees(merkle.leaf_hash(x) for x in data)
    for size in range(1, len(data) + 1):
        root = tree.root(size)
        assert root == ref.mth(data[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, tree)
            assert proof == ref.path(index, data[:size])
            assert merkle.verify_inclusion(index, size, tree(0, index), proof, root)
        for first in range(1, size):
            proof = merkle.consistency_proof(first, size, tree)
            assert proof == ref.proof(first, data[:size])
            assert merkle.verify_consistency(first, size, tree.root(first), root, proof)


def test_inclusion_verification_edge_cases() -> None:
    leaf = merkle.leaf_hash(b"data")
    assert merkle.verify_inclusion(0, 1, leaf, [], leaf)
    for index, size in [(0, 0), (1, 0), (1, 1), (2, 1), (-1, 1)]:
        assert not merkle.verify_inclusion(index, size, leaf, [], leaf)
    assert not merkle.verify_inclusion(0, 1, leaf, [], SOME_HASH)
    assert not merkle.verify_inclusion(0, 1, b"", [], b"")
    assert not merkle.verify_inclusion(0, 1, leaf, [leaf], leaf)


@pytest.mark.parametrize(
    "garbage",
    [
        [b""],
        [b"\x00" * 31],
        [b"\x00" * 33],
        ["not bytes"],
        [None],
        b"",
        None,
        42,
        [[b"\x00" * 32]],
    ],
)
def test_verifiers_return_false_on_garbage(garbage: object) -> None:
    tree = merkle.InMemorySubtrees(merkle.leaf_hash(bytes([i])) for i in range(5))
    leaf, root = tree(0, 2), tree.root()
    assert not merkle.verify_inclusion(2, 5, leaf, garbage, root)  # type: ignore[arg-type]
    assert not merkle.verify_consistency(3, 5, tree.root(3), root, garbage)  # type: ignore[arg-type]
    proof = merkle.inclusion_proof(2, 5, tree)
    assert not merkle.verify_inclusion("2", 5, leaf, proof, root)  # type: ignore[arg-type]
    assert not merkle.verify_inclusion(2, 5.0, leaf, proof, root)  # type: ignore[arg-type]
    assert not merkle.verify_inclusion(2, 5, leaf.hex(), proof, root)  # type: ignore[arg-type]
    assert not merkle.verify_inclusion(True, 5, tree(0, 1), proof, root)


def test_consistency_verification_edge_cases() -> None:
    root1, root2 = merkle.leaf_hash(b"1"), merkle.leaf_hash(b"2")
    empty = merkle.EMPTY_ROOT
    assert merkle.verify_consistency(0, 0, empty, empty, [])
    assert merkle.verify_consistency(0, 5, empty, root2, [])
    assert merkle.verify_consistency(3, 3, root1, root1, [])
    assert not merkle.verify_consistency(0, 0, empty, root2, [])
    assert not merkle.verify_consistency(0, 5, root1, root2, [])
    assert not merkle.verify_consistency(0, 5, empty, root2, [empty])
    assert not merkle.verify_consistency(3, 3, root1, root2, [])
    assert not merkle.verify_consistency(3, 3, root1, root1, [root1])
    assert not merkle.verify_consistency(1, 2, root1, root2, [])
    assert not merkle.verify_consistency(2, 1, root1, root2, [root1])
    assert not merkle.verify_consistency(-1, 2, root1, root2, [root1])


def test_inclusion_does_not_authenticate_the_size_alone() -> None:
    """The RFC algorithm only sees the shape of the path: leaf 0's path in 3 leaves has the
    shape of its path in 4, so the 3-leaf root "verifies" for size 4. The signed checkpoint
    binds size and root; a verifier must take both from it."""
    tree = merkle.InMemorySubtrees(merkle.leaf_hash(bytes([i])) for i in range(4))
    proof = merkle.inclusion_proof(0, 3, tree)
    assert merkle.verify_inclusion(0, 4, tree(0, 0), proof, tree.root(3))
    assert not merkle.verify_inclusion(0, 4, tree(0, 0), proof, tree.root(4))


def test_proof_arguments_are_checked() -> None:
    tree = merkle.InMemorySubtrees(merkle.leaf_hash(bytes([i])) for i in range(4))
    with pytest.raises(merkle.MerkleError, match="index 4 outside"):
        merkle.inclusion_proof(4, 4, tree)
    with pytest.raises(merkle.MerkleError, match="index -1 outside"):
        merkle.inclusion_nodes(-1, 4)
    with pytest.raises(merkle.MerkleError, match="invalid tree sizes"):
        merkle.consistency_proof(3, 2, tree)
    with pytest.raises(merkle.MerkleError, match="not made of aligned subtrees"):
        merkle.range_hash(1, 4, tree)
    with pytest.raises(merkle.MerkleError, match="invalid range"):
        merkle.range_nodes(3, 2)
    with pytest.raises(merkle.MerkleError, match="tree has 4 leaves"):
        tree.root(5)
    with pytest.raises(merkle.MerkleError, match=r"subtree \(2, 1\) not available"):
        tree(2, 1)
    assert merkle.consistency_proof(0, 4, tree) == []
    assert merkle.consistency_proof(4, 4, tree) == []


def test_range_nodes_are_the_aligned_decomposition() -> None:
    assert merkle.range_nodes(0, 0) == []
    assert merkle.range_nodes(5, 5) == []
    assert merkle.range_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert merkle.range_nodes(4, 7) == [(1, 2), (0, 6)]
    assert merkle.range_nodes(2, 6) == [(1, 1), (1, 2)]  # four leaves, not one aligned node
    assert merkle.range_nodes(3, 4) == [(0, 3)]
    assert merkle.range_nodes(8, 13) == [(2, 2), (0, 12)]


def test_assembling_from_fetched_nodes_equals_the_direct_proof() -> None:
    tree = merkle.InMemorySubtrees(merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(45))
    for index, size in [(0, 1), (7, 45), (44, 45), (31, 32), (12, 33)]:
        fetched = {node: tree(*node) for node in merkle.inclusion_nodes(index, size)}
        assert len(fetched) == len(merkle.inclusion_nodes(index, size))
        assert merkle.assemble_inclusion(index, size, fetched) == merkle.inclusion_proof(
            index, size, tree
        )
    for first, second in [(0, 45), (45, 45), (1, 45), (13, 45), (32, 45), (7, 8)]:
        fetched = {node: tree(*node) for node in merkle.consistency_nodes(first, second)}
        assert merkle.assemble_consistency(first, second, fetched) == merkle.consistency_proof(
            first, second, tree
        )
    fetched = {node: tree(*node) for node in merkle.inclusion_nodes(7, 45)}
    fetched.popitem()
    with pytest.raises(merkle.MerkleError, match="not available"):
        merkle.assemble_inclusion(7, 45, fetched)


def test_completed_nodes_per_leaf() -> None:
    tree = merkle.InMemorySubtrees()
    made = [tree.append(merkle.leaf_hash(bytes([i]))) for i in range(8)]
    assert [[(level, index) for level, index, _ in nodes] for nodes in made] == [
        [(0, 0)],
        [(0, 1), (1, 0)],
        [(0, 2)],
        [(0, 3), (1, 1), (2, 0)],
        [(0, 4)],
        [(0, 5), (1, 2)],
        [(0, 6)],
        [(0, 7), (1, 3), (2, 1), (3, 0)],
    ]
    assert made[7][-1][2] == tree.root()


def test_append_nodes_needs_only_the_frontier() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(50)]
    full = merkle.InMemorySubtrees(leaves)
    for size in [0, 1, 7, 8, 13, 32]:
        frontier_hashes = [full(*node) for node in merkle.frontier(size)]
        made = merkle.append_nodes(size, frontier_hashes, leaves[size:])
        expected = {
            node: hashed for node, hashed in full.nodes.items() if (node[1] + 1) << node[0] > size
        }
        assert {(level, index): hashed for level, index, hashed in made} == expected
    with pytest.raises(merkle.MerkleError, match="3 frontier hashes needed, got 1"):
        merkle.append_nodes(7, [leaves[0]], leaves[7:])


def test_proofs_of_a_huge_tree_take_logarithmic_nodes() -> None:
    """A tree of 2**40 + 12345 identical leaves: every aligned subtree of one level has the
    same hash, so the accessor is O(1) and still consistent; nothing holds the leaves."""
    levels = [merkle.leaf_hash(b"same")]
    for _ in range(45):
        levels.append(merkle.node_hash(levels[-1], levels[-1]))

    def subtree(level: int, index: int) -> bytes:
        return levels[level]

    size = 2**40 + 12345
    root = merkle.range_hash(0, size, subtree)
    for index in [0, 1, 2**39, 2**40 - 1, 2**40, size - 1]:
        nodes = merkle.inclusion_nodes(index, size)
        assert len(nodes) <= 2 * 41
        proof = merkle.inclusion_proof(index, size, subtree)
        assert merkle.verify_inclusion(index, size, levels[0], proof, root)
    for first in [1, 3, 2**20 + 1, 2**40, 2**40 + 1]:
        assert len(merkle.consistency_nodes(first, size)) <= 3 * 41
        proof = merkle.consistency_proof(first, size, subtree)
        first_root = merkle.range_hash(0, first, subtree)
        assert merkle.verify_consistency(first, size, first_root, root, proof)
