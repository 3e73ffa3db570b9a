"""Group photos by their degradation embeddings into a tree, the AMIRNet way.

AMIRNet grows its degradation tree one level at a time, splitting every leaf in two with
k-means. We do the same on the perceiver's embeddings: the root holds every photo, each
node is split by 2-means (OpenCV's, k-means++ seeding, fixed seed) until the tree is
`depth` levels deep, a node has fewer than 2 * `min_size` photos, or the split would not
separate anything (both halves are nearly the same degradation: their centres closer than
`min_distance`). Leaves are the groups `--sort-into` makes folders of.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

__all__ = ["ClusterNode", "build_tree", "dominant_kinds"]

ATTEMPTS = 5


@dataclass
class ClusterNode:
    """One branch of the tree: the photos (row indices) under it and its sub-branches."""

    path: str  # "root", "0", "1", "0.1", ...
    members: list[int]
    children: list[ClusterNode] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def leaves(self) -> list[ClusterNode]:
        return [self] if self.is_leaf else [leaf for child in self.children for leaf in child.leaves()]

    def walk(self) -> list[tuple[int, ClusterNode]]:
        """(depth, node) in depth-first order, root first."""
        found: list[tuple[int, ClusterNode]] = [(0, self)]
        for child in self.children:
            found += [(depth + 1, node) for depth, node in child.walk()]
        return found


def _two_means(points: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-4)
    _, labels, centres = cv2.kmeans(points.astype(np.float32), 2, None, criteria, ATTEMPTS,
                                    cv2.KMEANS_PP_CENTERS)
    return labels.ravel(), centres


def build_tree(embeddings: np.ndarray, *, depth: int = 3, min_size: int = 1, min_distance: float = 0.25,
               seed: int = 0) -> ClusterNode:
    """The tree of repeated two-way splits of the rows of `embeddings` (N, E)."""
    if embeddings.ndim != 2:
        raise ValueError(f"expected (N, E) embeddings. Got shape {embeddings.shape}")
    if depth < 0 or min_size < 1:
        raise ValueError("depth must be at least 0 and min_size at least 1")
    root = ClusterNode("root", list(range(len(embeddings))))
    _split(root, embeddings, depth, min_size, min_distance, seed)
    return root


def _split(node: ClusterNode, embeddings: np.ndarray, levels_left: int, min_size: int, min_distance: float,
           seed: int) -> None:
    if levels_left == 0 or len(node.members) < 2 * min_size:
        return
    members = np.asarray(node.members)
    labels, centres = _two_means(embeddings[members], seed)
    sizes = np.bincount(labels, minlength=2)
    if sizes.min() < min_size or float(np.linalg.norm(centres[0] - centres[1])) < min_distance:
        return
    prefix = "" if node.path == "root" else node.path + "."
    # The larger group first, so branch 0 is always the most common kind of photo under a node.
    for rank, label in enumerate(np.argsort(-sizes, kind="stable")):
        child = ClusterNode(f"{prefix}{rank}", members[labels == label].tolist())
        node.children.append(child)
        _split(child, embeddings, levels_left - 1, min_size, min_distance, seed)


def dominant_kinds(probabilities: np.ndarray, members: Sequence[int], kinds: Sequence[str],
                   *, threshold: float = 0.5, top: int = 2) -> list[tuple[str, float]]:
    """The kinds most often detected among `members`: (kind, share of members), most common first."""
    if not members:
        return []
    shares = (probabilities[list(members)] >= threshold).mean(axis=0)
    order = np.argsort(-shares, kind="stable")[:top]
    return [(kinds[int(i)], float(shares[i])) for i in order if shares[i] > 0]
