"""Review learning's memory: find the hard samples of a stage, keep them, replay them later.

The paper states the principles (hard samples are found through the fluctuation of
their loss, kept in a memory, and replayed in later stages with a share that shrinks
stage by stage); the formulas are ours:

- Every stage draws from a fixed pool of sample ids that it revisits epoch after
  epoch, so each sample's loss is seen several times. `LossFluctuation` keeps
  Welford's running mean and variance of each sample's loss over its visits; a
  sample's hardness is the standard deviation: the model keeps changing its mind
  about it, which is what forgetting looks like from inside a stage.
- At the end of a stage the `memory_size` samples with the highest fluctuation
  (seen at least twice) go into the `ReviewMemory` as (stage, id) pairs; since a
  sample is a pure function of its id, replaying it needs no stored pixels.
- While training stage t >= 1, a share r_t = review_ratio * review_decay^(t-1) of
  every batch is drawn from the memory, each draw picking a finished stage uniformly
  first, so the oldest stage is not crowded out by later ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["LossFluctuation", "ReviewMemory"]


class LossFluctuation:
    """Running mean and variance of each sample's loss across its visits (Welford)."""

    def __init__(self, pool_size: int) -> None:
        self.count = np.zeros(pool_size, dtype=np.int64)
        self.mean = np.zeros(pool_size, dtype=np.float64)
        self.m2 = np.zeros(pool_size, dtype=np.float64)

    def update(self, ids: np.ndarray, losses: np.ndarray) -> None:
        """Record one visit per (id, loss); an id repeated in one call counts as several visits."""
        for sample_id, loss in zip(np.asarray(ids, dtype=np.int64), np.asarray(losses, dtype=np.float64)):
            self.count[sample_id] += 1
            delta = loss - self.mean[sample_id]
            self.mean[sample_id] += delta / self.count[sample_id]
            self.m2[sample_id] += delta * (loss - self.mean[sample_id])

    def fluctuation(self) -> np.ndarray:
        """(pool,) standard deviation of each sample's loss; 0 for samples seen fewer than twice."""
        seen = self.count >= 2
        out = np.zeros_like(self.mean)
        out[seen] = np.sqrt(self.m2[seen] / (self.count[seen] - 1))
        return out

    def hardest(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, fluctuations) of the `count` most fluctuating samples seen at least twice, hardest first."""
        candidates = np.flatnonzero(self.count >= 2)
        scores = self.fluctuation()[candidates]
        order = np.lexsort((candidates, -scores))[:count]  # ties broken by id, for determinism
        return candidates[order], scores[order]

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"count": torch.from_numpy(self.count.copy()), "mean": torch.from_numpy(self.mean.copy()),
                "m2": torch.from_numpy(self.m2.copy())}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.count, self.mean, self.m2 = (state[key].numpy().copy() for key in ("count", "mean", "m2"))


@dataclass
class ReviewMemory:
    """Hard samples of finished stages: stage index -> (ids, fluctuation scores)."""

    stages: dict[int, tuple[list[int], list[float]]] = field(default_factory=dict)

    def add(self, stage: int, ids: np.ndarray, scores: np.ndarray) -> None:
        self.stages[stage] = ([int(i) for i in ids], [float(s) for s in scores])

    def __len__(self) -> int:
        return sum(len(ids) for ids, _ in self.stages.values())

    def draw(self, rng: np.random.Generator, count: int) -> list[tuple[int, int]]:
        """`count` (stage, id) pairs: a stage uniformly among those with samples, then one of its ids."""
        filled = sorted(stage for stage, (ids, _) in self.stages.items() if ids)
        if not filled or count <= 0:
            return []
        draws = []
        for _ in range(count):
            stage = filled[int(rng.integers(len(filled)))]
            ids = self.stages[stage][0]
            draws.append((stage, ids[int(rng.integers(len(ids)))]))
        return draws

    def to_dict(self) -> dict[str, dict[str, list]]:
        return {str(stage): {"ids": ids, "scores": scores} for stage, (ids, scores) in self.stages.items()}

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, list]]) -> ReviewMemory:
        return cls({int(stage): (list(entry["ids"]), list(entry["scores"])) for stage, entry in data.items()})
