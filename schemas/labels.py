"""Label tables that travel in shard metadata: the sentence_reorder permutation table.

Segments are numbered in their original order 0..n-1; a permutation lists, position by
position, which original segment the shuffled sequence shows there. The label of a permutation
is offset(n) + its lexicographic rank among the n! permutations, offset(n) = sum_{j<n} j!, so
there are k = sum_{n=1..m} n! classes (m=3: 9, m=4: 33)."""
from __future__ import annotations

from itertools import permutations
from math import factorial


def num_permutation_classes(max_segments: int) -> int:
    return sum(factorial(n) for n in range(1, max_segments + 1))


def permutation_table(max_segments: int) -> list[list[int]]:
    """Row `label` is the permutation with that label."""
    return [list(p) for n in range(1, max_segments + 1) for p in permutations(range(n))]


def reorder_table(max_segments: int) -> list[list[int]]:
    """sentence_reorder's classes: the permutations of 1..m segments in which no segment directly
    follows the one it followed originally (no p[i+1] == p[i] + 1), plus the identity of one
    segment. When segments are not marked in the input (every sentence is separated alike), two
    segments shown in their original order read as one, so only these permutations can be told
    apart: the segments are the maximal runs of originally consecutive sentences. m=3: 5 classes,
    m=4: 16."""
    return [p for p in permutation_table(max_segments)
            if len(p) == 1 or all(b != a + 1 for a, b in zip(p, p[1:]))]


def permutation_label(perm: list[int]) -> int:
    """The class id of a permutation of 0..n-1 (the inverse of permutation_table)."""
    n = len(perm)
    offset = sum(factorial(j) for j in range(1, n))
    rank, rest = 0, sorted(perm)
    for i, value in enumerate(perm):
        index = rest.index(value)
        rank += index * factorial(n - 1 - i)
        rest.pop(index)
    return offset + rank


def restore_order(shuffled: list, perm: list[int]) -> list:
    """The segments back in their original order: shuffled[i] is original segment perm[i]."""
    original = [None] * len(perm)
    for position, source in enumerate(perm):
        original[source] = shuffled[position]
    return original
