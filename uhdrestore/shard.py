"""Which share of a batch this process restores: from the launcher, or `--shard K/N` by hand.

torchrun sets RANK/WORLD_SIZE/LOCAL_RANK and srun sets SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID;
reading them (as nanoGPT does) lets `torchrun ... -m uhdrestore batch` and `srun uhdrestore
batch` split a folder with no scheduler of ours and no collectives. A file belongs to the rank
given by a hash of its path relative to the input folder, so the split does not depend on
listing order or on which outputs already exist: a re-run, with any files done, gives each
rank the same files as before.

SLURM's variables count only inside an srun step (SLURM_STEP_ID set): the sbatch script itself
also carries SLURM_NTASKS, and a plain `uhdrestore batch` there must not restore a fraction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Shard", "parse_shard", "shard_from_environment", "resolve_shard", "shard_of"]


@dataclass(frozen=True)
class Shard:
    """This process's share: the files whose hash modulo `world_size` is `rank`."""

    rank: int = 0
    world_size: int = 1
    local_rank: int | None = None  # index on this machine, when a launcher says (picks cuda:LOCAL_RANK)
    launcher: str = "none"  # "torchrun", "slurm", "--shard" or "none", for messages and reports
    run_id: str | None = None  # the launcher's id of this run, when it gives one (reports of one run match)

    def __post_init__(self) -> None:
        if self.world_size < 1:
            raise ValueError(f"the number of shards must be at least 1. Got {self.world_size}")
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"shard index {self.rank} is outside 0..{self.world_size - 1}")

    @property
    def is_split(self) -> bool:
        return self.world_size > 1

    def owns(self, relative_path: str) -> bool:
        """Whether the file at `relative_path` (POSIX, relative to the input folder) is ours."""
        return shard_of(relative_path, self.world_size) == self.rank

    def describe(self) -> str:
        return f"rank {self.rank}/{self.world_size} ({self.launcher})"


def shard_of(relative_path: str, world_size: int) -> int:
    """The rank that restores `relative_path`: BLAKE2b of its UTF-8 bytes, modulo `world_size`.

    Python's hash() changes between processes; this one is the same on every machine.
    """
    digest = hashlib.blake2b(relative_path.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % world_size


def parse_shard(text: str) -> Shard:
    """'K/N' (0 <= K < N) -> Shard; ValueError with the bad value otherwise."""
    rank, slash, world = text.partition("/")
    if not slash or not (rank.isdigit() and rank.isascii() and world.isdigit() and world.isascii()):
        raise ValueError(f"invalid value for --shard: expected K/N, e.g. 0/4. Got {text!r}")
    if int(world) < 1 or int(rank) >= int(world):
        raise ValueError(f"invalid value for --shard: K must be below N (0 <= K < N). Got {text!r}")
    return Shard(int(rank), int(world), launcher="--shard")


def _integer(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name)
    if value is None:
        return None
    if not (value.strip().isdigit() and value.strip().isascii()):
        raise ValueError(f"inconsistent launcher environment: {name}={value!r} is not a whole number")
    return int(value)


def _from_variables(environ: Mapping[str, str], launcher: str, rank_name: str, world_name: str,
                    local_name: str, run_id: str | None) -> Shard:
    rank, world, local = (_integer(environ, name) for name in (rank_name, world_name, local_name))
    if rank is None or world is None:  # the caller saw at least one of the two
        missing, present = (rank_name, world_name) if rank is None else (world_name, rank_name)
        raise ValueError(f"inconsistent launcher environment: {present} is set but {missing} is not")
    if world < 1 or rank >= world:
        raise ValueError(f"inconsistent launcher environment: {rank_name}={rank} is not below "
                         f"{world_name}={world}")
    if local is not None and local >= world:  # a machine never runs more processes than the run has
        raise ValueError(f"inconsistent launcher environment: {local_name}={local} is not below "
                         f"{world_name}={world}")
    return Shard(rank, world, local, launcher, run_id)


def shard_from_environment(environ: Mapping[str, str]) -> Shard | None:
    """The launcher's shard (torchrun first, then an srun step), or None outside a launcher.

    Raises ValueError when the variables contradict each other (RANK=3 with WORLD_SIZE=2,
    RANK without WORLD_SIZE, a value that is not a number).
    """
    if "RANK" in environ or "WORLD_SIZE" in environ:
        return _from_variables(environ, "torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK",
                               environ.get("TORCHELASTIC_RUN_ID"))
    if "SLURM_STEP_ID" in environ and ("SLURM_PROCID" in environ or "SLURM_NTASKS" in environ):
        run_id = f"{environ.get('SLURM_JOB_ID', '')}.{environ['SLURM_STEP_ID']}"
        return _from_variables(environ, "slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", run_id)
    return None


def resolve_shard(manual: str | None, environ: Mapping[str, str]) -> Shard:
    """`--shard` if given, else the launcher's, else the whole batch.

    `--shard` under a launcher that starts several processes is refused: every process would
    restore the same share.
    """
    launched = shard_from_environment(environ)
    if manual is None:
        return launched or Shard()
    shard = parse_shard(manual)
    if launched is not None and launched.is_split:
        raise ValueError(f"--shard {manual} conflicts with {launched.launcher}, which started "
                         f"{launched.world_size} processes: drop --shard, or launch one process")
    return shard
