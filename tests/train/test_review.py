from __future__ import annotations

import numpy as np

from uhdrestore.train.config import StageConfig, TrainConfig
from uhdrestore.train.review import LossFluctuation, ReviewMemory


def test_memory_holds_the_samples_whose_loss_fluctuates_most():
    tracker = LossFluctuation(pool_size=50)
    rng = np.random.default_rng(0)
    spread = np.linspace(0.0, 1.0, 50)  # sample i's loss swings by spread[i]
    level = rng.uniform(0.5, 2.0, 50)  # unrelated loss levels: hardness is fluctuation, not level
    for visit in range(6):
        ids = rng.permutation(50)
        tracker.update(ids, level[ids] + spread[ids] * (-1) ** visit)
    ids, scores = tracker.hardest(5)
    assert list(ids) == [49, 48, 47, 46, 45]
    assert np.all(np.diff(scores) <= 0)


def test_samples_seen_once_are_never_called_hard():
    tracker = LossFluctuation(pool_size=10)
    tracker.update(np.arange(10), np.arange(10.0))
    tracker.update(np.array([3, 3]), np.array([0.0, 1.0]))
    ids, _ = tracker.hardest(5)
    assert list(ids) == [3]


def test_fluctuation_is_the_standard_deviation_of_the_visits():
    tracker = LossFluctuation(pool_size=1)
    losses = [0.3, 0.1, 0.7, 0.2]
    for loss in losses:
        tracker.update(np.array([0]), np.array([loss]))
    assert np.isclose(tracker.fluctuation()[0], np.std(losses, ddof=1))
    restored = LossFluctuation(pool_size=1)
    restored.load_state_dict(tracker.state_dict())
    assert np.isclose(restored.fluctuation()[0], tracker.fluctuation()[0])


def test_memory_draws_evenly_from_every_finished_stage():
    memory = ReviewMemory()
    memory.add(0, np.arange(3), np.ones(3))
    memory.add(1, np.arange(100, 400), np.ones(300))  # a big later stage must not crowd out stage 0
    draws = memory.draw(np.random.default_rng(0), 2000)
    share = np.mean([stage == 0 for stage, _ in draws])
    assert 0.45 < share < 0.55
    assert {sample_id for stage, sample_id in draws if stage == 0} == {0, 1, 2}
    assert ReviewMemory.from_dict(memory.to_dict()) == memory


def test_review_share_shrinks_stage_by_stage():
    stages = tuple(StageConfig.parse(kind) for kind in ("rain", "haze", "noise", "blur"))
    review = TrainConfig(stages=stages, review_ratio=0.4, review_decay=0.5)
    assert [review.review_share(t) for t in range(4)] == [0.0, 0.4, 0.2, 0.1]
    for schedule in ("sequential", "joint"):
        other = TrainConfig(stages=stages, schedule=schedule)
        assert all(other.review_share(t) == 0 for t in range(4))
