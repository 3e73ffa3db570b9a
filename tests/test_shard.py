"""Shards from --shard and from the launchers' variables; the split by path hash."""

from __future__ import annotations

import random

import pytest

from uhdrestore.shard import Shard, parse_shard, resolve_shard, shard_from_environment, shard_of

PATHS = [f"day{day}/img_{index:04d}.png" for day in range(5) for index in range(200)]


def test_every_path_goes_to_exactly_one_shard_whatever_the_order():
    shards = [Shard(rank, 4) for rank in range(4)]
    owners = {path: [shard.rank for shard in shards if shard.owns(path)] for path in PATHS}
    assert all(len(ranks) == 1 for ranks in owners.values())
    shuffled = random.Random(0).sample(PATHS, len(PATHS))
    assert {path: shard_of(path, 4) for path in shuffled} == {path: ranks[0] for path, ranks in owners.items()}
    # Roughly even: 1000 paths over 4 shards, each within 20% of 250.
    sizes = [sum(ranks == [rank] for ranks in owners.values()) for rank in range(4)]
    assert all(200 <= size <= 300 for size in sizes), sizes


def test_the_hash_is_fixed_across_processes_and_versions():
    # Pinned values (BLAKE2b, not Python's per-process hash()): a change here would move files
    # between the ranks of a resumed run.
    paths = ("a.png", "day/c.png", "ü/ß.jpg")
    assert [shard_of(path, 7) for path in paths] == [2, 3, 0]
    assert [shard_of(path, 1000003) for path in paths] == [981016, 947455, 558421]


@pytest.mark.parametrize("text, expected", [("0/1", (0, 1)), ("3/4", (3, 4)), ("12/100", (12, 100))])
def test_parse_shard(text, expected):
    shard = parse_shard(text)
    assert (shard.rank, shard.world_size, shard.launcher) == (*expected, "--shard")


@pytest.mark.parametrize("text", ["3/2", "2/2", "0/0", "x", "1", "-1/2", "1/-2", "1/2/3", "a/b", " 1/2", "１/2"])
def test_parse_shard_refuses_bad_values_with_the_value(text):
    with pytest.raises(ValueError, match="--shard") as caught:
        parse_shard(text)
    assert repr(text) in str(caught.value)


def test_torchrun_variables():
    shard = shard_from_environment({"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1",
                                    "TORCHELASTIC_RUN_ID": "abc"})
    assert shard == Shard(3, 8, 1, "torchrun", "abc")


def test_slurm_variables_count_only_inside_an_srun_step():
    variables = {"SLURM_PROCID": "2", "SLURM_NTASKS": "4", "SLURM_LOCALID": "0", "SLURM_JOB_ID": "77"}
    assert shard_from_environment(variables) is None  # the sbatch script itself: one process, everything
    shard = shard_from_environment({**variables, "SLURM_STEP_ID": "0"})
    assert (shard.rank, shard.world_size, shard.local_rank, shard.launcher, shard.run_id) == (2, 4, 0, "slurm",
                                                                                               "77.0")


def test_torchrun_wins_over_an_enclosing_slurm_job():
    shard = shard_from_environment({"RANK": "1", "WORLD_SIZE": "2", "SLURM_PROCID": "0", "SLURM_NTASKS": "1",
                                    "SLURM_STEP_ID": "0"})
    assert (shard.rank, shard.world_size, shard.launcher) == (1, 2, "torchrun")


@pytest.mark.parametrize("variables, message", [
    ({"RANK": "2", "WORLD_SIZE": "2"}, "RANK=2 is not below WORLD_SIZE=2"),
    ({"RANK": "0"}, "RANK is set but WORLD_SIZE is not"),
    ({"WORLD_SIZE": "2"}, "WORLD_SIZE is set but RANK is not"),
    ({"RANK": "0", "WORLD_SIZE": "two"}, "WORLD_SIZE='two' is not a whole number"),
    ({"RANK": "0", "WORLD_SIZE": "0"}, "RANK=0 is not below WORLD_SIZE=0"),
    ({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "5"}, "LOCAL_RANK=5 is not below WORLD_SIZE=2"),
    ({"SLURM_PROCID": "4", "SLURM_NTASKS": "4", "SLURM_STEP_ID": "0"}, "SLURM_PROCID=4 is not below"),
])
def test_inconsistent_launcher_variables_are_refused(variables, message):
    with pytest.raises(ValueError, match="inconsistent launcher environment") as caught:
        shard_from_environment(variables)
    assert message in str(caught.value)


def test_resolve_shard():
    assert resolve_shard(None, {}) == Shard()
    assert resolve_shard("1/3", {}).world_size == 3
    assert resolve_shard("1/3", {"RANK": "0", "WORLD_SIZE": "1"}).rank == 1  # one launched process may pick
    with pytest.raises(ValueError, match="conflicts with torchrun"):
        resolve_shard("1/3", {"RANK": "0", "WORLD_SIZE": "2"})
