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

`ReviewSchedule` holds all of it for a run: it plans each batch (`plan`), records each
fresh sample's loss (`record`) and closes a stage (`close_stage`: the hardest samples go
into memory). The sequential and joint schedules are the same object with replay off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import TrainConfig

__all__ = ["BatchPlan", "LossFluctuation", "ReviewMemory", "ReviewSchedule"]


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


@dataclass(frozen=True)
class BatchPlan:
    """One global batch as (stage index, sample id) pairs: fresh samples first, then `replay` replayed ones."""

    stage: int
    samples: list[tuple[int, int]]
    replay: int = 0

    def fresh(self) -> list[tuple[int, int]]:
        """(position in the batch, sample id) of the current stage's fresh samples."""
        return [(index, sample_id) for index, (task, sample_id) in enumerate(self.samples)
                if task == self.stage and index < len(self.samples) - self.replay]


class ReviewSchedule:
    """Which samples each step trains on, and review learning's memory of hard samples.

    `stage_keys` are the stages' data keys in training order (they seed each stage's pool
    shuffles and replay draws, so a plan is a pure function of (seed, stage, stage step));
    `weights`, in the same order, are their shares of a joint batch (default: even).
    """

    def __init__(self, config: TrainConfig, stage_keys: Sequence[int], weights: Sequence[int] | None = None) -> None:
        self.config, self.stage_keys = config, list(stage_keys)
        self.weights = list(weights or [1] * len(self.stage_keys))  # joint: each stage's share of the samples
        # joint: the stage of each position in a cycle of samples, a stage weighing w holding w of them
        self._cycle = [index for index, weight in enumerate(self.weights) for _ in range(weight)]
        self.memory = ReviewMemory()
        self.tracker = LossFluctuation(config.data.pool_size)
        self._permutations: dict[tuple[int, int], np.ndarray] = {}

    def share(self, stage: int) -> float:
        return self.config.review.share(stage)

    def pool_ids(self, stage: int, start: int, count: int) -> list[int]:
        """Ids at positions start.. of the stage's pool, reshuffled every epoch."""
        pool, ids = self.config.data.pool_size, []
        for position in range(start, start + count):
            epoch = position // pool
            key = (stage, epoch)
            if key not in self._permutations:
                if len(self._permutations) > 8:
                    self._permutations.clear()
                rng = np.random.default_rng([self.config.seed, self.stage_keys[stage], 2, epoch])
                self._permutations[key] = rng.permutation(pool)
            ids.append(int(self._permutations[key][position % pool]))
        return ids

    def plan(self, stage: int, stage_step: int) -> BatchPlan:
        """The global batch of `stage_step` in `stage`."""
        batch = self.config.optim.batch_size
        if self.config.schedule == "joint":  # every batch mixes all stages, in proportion to their weights
            first = (stage * self.config.optim.steps_per_stage + stage_step) * batch
            return BatchPlan(stage, [self._joint_sample(position) for position in range(first, first + batch)])
        replay = round(self.share(stage) * batch) if len(self.memory) else 0
        fresh = batch - replay
        plan = [(stage, sample_id) for sample_id in self.pool_ids(stage, stage_step * fresh, fresh)]
        rng = np.random.default_rng([self.config.seed, self.stage_keys[stage], 3, stage_step])
        return BatchPlan(stage, plan + self.memory.draw(rng, replay), replay)

    def _joint_sample(self, position: int) -> tuple[int, int]:
        """(stage, sample id) at `position` of a joint run: each cycle takes a stage's next `weight` samples."""
        cycle, slot = divmod(position, len(self._cycle))
        task = self._cycle[slot]
        within = slot - self._cycle.index(task)
        return task, self.pool_ids(task, cycle * self.weights[task] + within, 1)[0]

    def record(self, plan: BatchPlan, losses: np.ndarray) -> None:
        """Record the per-sample losses (the whole global batch, in plan order) of a step."""
        fresh = plan.fresh()
        if self.config.schedule == "review" and fresh:
            self.tracker.update(np.array([sample_id for _, sample_id in fresh]),
                                losses[[index for index, _ in fresh]])

    def close_stage(self, stage: int) -> set[tuple[int, int]]:
        """End `stage`: keep its hardest samples (review schedule); returns the (stage, id) pairs now in memory."""
        if self.config.schedule == "review":
            self.memory.add(stage, *self.tracker.hardest(self.config.review.memory_size))
        self.tracker = LossFluctuation(self.config.data.pool_size)
        return {(task, sample_id) for task, (ids, _) in self.memory.stages.items() for sample_id in ids}

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """(tensors, JSON) for a checkpoint: the loss statistics and the memory."""
        return self.tracker.state_dict(), self.memory.to_dict()

    def load_state_dict(self, tensors: dict[str, torch.Tensor], memory: dict[str, Any]) -> None:
        self.tracker.load_state_dict(tensors)
        self.memory = ReviewMemory.from_dict(memory)
