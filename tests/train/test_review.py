from __future__ import annotations

import numpy as np
import pytest

from uhdrestore.train.config import ReviewConfig
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
    review = ReviewConfig(ratio=0.4, decay=0.5)
    assert [review.share(t) for t in range(4)] == [0.0, 0.4, 0.2, 0.1]
    for schedule in ("sequential", "joint"):
        other = ReviewConfig(schedule=schedule)
        assert all(other.share(t) == 0 for t in range(4))


def test_the_schedule_replays_a_shrinking_share_of_earlier_stages():
    from uhdrestore.train.config import SMOKE_MODEL, StageConfig, TrainConfig
    from uhdrestore.train.review import ReviewSchedule

    stages = tuple(StageConfig.parse(kind) for kind in ("rain", "haze", "noise", "blur"))
    config = TrainConfig(stages=stages, model=SMOKE_MODEL).replace(**{
        "optim.batch_size": 20, "review.ratio": 0.4, "review.decay": 0.5, "data.pool_size": 8})
    schedule = ReviewSchedule(config, stage_keys=[11, 12, 13, 14])
    replayed = []
    for stage in range(4):
        plan = schedule.plan(stage, 0)
        assert len(plan.samples) == 20 and sum(task != stage for task, _ in plan.samples) == plan.replay
        assert all(task < stage for task, _ in plan.samples[20 - plan.replay:])
        assert schedule.plan(stage, 0) == plan  # a pure function of (seed, stage, stage step)
        replayed.append(plan.replay)
        for visit in range(3):  # each fresh sample seen several times, so its loss fluctuation is known
            schedule.record(plan, np.arange(20, dtype=float) * (visit + 1))
        kept = schedule.close_stage(stage)
        assert {task for task, _ in kept} == set(range(stage + 1)) and len(schedule.memory.stages[stage][0]) <= 256
    assert replayed == [0, 8, 4, 2]
    joint = ReviewSchedule(config.replace(**{"review.schedule": "joint"}), stage_keys=[11, 12, 13, 14])
    assert [task for task, _ in joint.plan(0, 0).samples].count(0) == 5  # joint mixes every stage evenly
    joint.record(joint.plan(0, 0), np.ones(20))
    assert not joint.close_stage(0)  # no memory outside the review schedule


def test_the_schedule_state_round_trips():
    from uhdrestore.train.config import SMOKE_MODEL, StageConfig, TrainConfig
    from uhdrestore.train.review import ReviewSchedule

    config = TrainConfig(stages=(StageConfig.parse("rain"), StageConfig.parse("haze")), model=SMOKE_MODEL
                         ).replace(**{"optim.batch_size": 4, "data.pool_size": 8, "review.memory_size": 2})
    schedule = ReviewSchedule(config, [1, 2])
    for step in range(6):
        schedule.record(schedule.plan(0, step), np.arange(4, dtype=float) * step)
    schedule.close_stage(0)
    schedule.record(schedule.plan(1, 0), np.ones(4))
    again = ReviewSchedule(config, [1, 2])
    again.load_state_dict(*schedule.state_dict())
    assert again.memory == schedule.memory and np.array_equal(again.tracker.m2, schedule.tracker.m2)
    assert again.plan(1, 3) == schedule.plan(1, 3)


def test_a_weighted_joint_stage_takes_its_share_of_every_batch_and_visits_its_whole_pool():
    from uhdrestore.train.config import SMOKE_MODEL, StageConfig, TrainConfig
    from uhdrestore.train.review import ReviewSchedule

    stages = tuple(StageConfig.parse(spec) for spec in ("rain", "haze", "snow:crisp*3"))
    assert [stage.name for stage in stages] == ["rain", "haze", "snow:crisp"] and stages[2].weight == 3
    config = TrainConfig(stages=stages, model=SMOKE_MODEL, review=ReviewConfig(schedule="joint")).replace(**{
        "optim.batch_size": 10, "data.pool_size": 6})
    schedule = ReviewSchedule(config, stage_keys=[1, 2, 3], weights=[stage.weight for stage in stages])
    samples = [sample for step in range(6) for sample in schedule.plan(0, step).samples]
    assert [task for task, _ in samples].count(2) == 36  # three of every five samples
    crisp = [sample_id for task, sample_id in samples if task == 2]
    assert sorted(crisp[:6]) == list(range(6))  # a whole epoch of its pool before any sample comes again
    even = ReviewSchedule(config, stage_keys=[1, 2, 3])
    assert [task for task, _ in even.plan(0, 0).samples].count(2) in (3, 4)


def test_a_stage_weight_is_a_whole_number_for_joint_training_only():
    from uhdrestore.train.config import SMOKE_MODEL, StageConfig, TrainConfig

    for bad in ("rain*", "rain*two", "rain*0"):
        with pytest.raises(ValueError):
            StageConfig.parse(bad)
    with pytest.raises(ValueError, match="joint"):
        TrainConfig(stages=(StageConfig.parse("rain*2"), StageConfig.parse("haze")), model=SMOKE_MODEL)
    assert StageConfig.parse("rain=data/pairs*2") == StageConfig("rain", "rain", "data/pairs", 2)
