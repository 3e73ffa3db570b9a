"""Restore a folder with Ray Data: the model as a stateful actor in `map_batches`.

    pip install "ray[data]"        # Ray is not a dependency of uhdrestore
    python examples/ray_batch.py photos -o photos_restored [--actors 2] [--gpus-per-actor 1]
    python examples/ray_batch.py photos -o out --files-from list.txt --address auto   # a running cluster

For users who already run Ray; everyone else has `torchrun`/`srun uhdrestore batch`
(docs/scale-out.md). The dataset holds relative paths, not pixels: each actor reads and writes
through `uhdrestore.io`, because Ray's own image reader drops 16-bit depth, alpha and EXIF.
An actor loads the model once (`__init__`), then restores every batch it is given; existing
outputs are skipped, so re-running resumes, as `uhdrestore batch` does. Writes are atomic.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
import ray

from uhdrestore import Restorer, UhdRestoreError, read_image, write_image
from uhdrestore.listing import walk_photos


class RestoreFiles:
    """One Ray actor: a loaded Restorer, restoring batches of relative paths from `folder` into `output`."""

    def __init__(self, folder: str, output: str, model: str, device: str) -> None:
        self.folder, self.output = Path(folder), Path(output)
        self.restorer = Restorer.from_pretrained(model, device=device)  # once per actor, not per batch

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        paths = batch["path"] if "path" in batch else batch["text"]  # from_items or read_text
        statuses = [self._one(str(relative)) for relative in paths]
        return {"path": paths, "status": np.array(statuses, dtype=object)}

    def _one(self, relative: str) -> str:
        target = self.output / relative
        if target.exists():
            return "skipped"
        try:
            restored, _how = self.restorer.restore(read_image(self.folder / relative))
            target.parent.mkdir(parents=True, exist_ok=True)
            write_image(target, restored)  # atomic: a killed actor leaves no half-written file
        except UhdRestoreError as error:  # a bad file fails alone; the dataset goes on
            return f"failed: {error}"
        return "ok"


def paths_dataset(folder: Path, files_from: Path | None) -> ray.data.Dataset:
    """The relative paths to restore: a text file read by Ray (millions are fine), or the folder walked."""
    if files_from is not None:  # reading takes no CPU of its own: the actors may hold them all
        return ray.data.read_text(str(files_from), drop_empty_lines=True, ray_remote_args={"num_cpus": 0})
    return ray.data.from_items([{"path": path.relative_to(folder).as_posix()}
                                for path in walk_photos(folder, recursive=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder of photos (searched recursively)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder (mirrors the tree)")
    parser.add_argument("--files-from", type=Path, help="restore the paths in this file (relative to FOLDER)")
    parser.add_argument("--model", default="default", help="as uhdrestore's --model")
    parser.add_argument("--actors", type=int, default=2, help="model replicas (default 2)")
    parser.add_argument("--gpus-per-actor", type=float, default=0, help="GPUs per replica (0: CPU)")
    parser.add_argument("--batch-size", type=int, default=4, help="paths per call (default 4)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of a local Ray (default: all)")
    parser.add_argument("--address", help="connect to this Ray cluster instead of starting one ('auto')")
    args = parser.parse_args()

    ray.init(address=args.address, num_cpus=None if args.address else args.num_cpus)
    device = "cuda" if args.gpus_per_actor > 0 else "cpu"  # Ray sets CUDA_VISIBLE_DEVICES per actor
    results = paths_dataset(args.folder, args.files_from).map_batches(
        RestoreFiles, batch_size=args.batch_size, concurrency=args.actors, num_gpus=args.gpus_per_actor,
        fn_constructor_kwargs={"folder": str(args.folder), "output": str(args.output), "model": args.model,
                               "device": device})
    counts: Counter[str] = Counter()
    for row in results.iter_rows():
        status = str(row["status"])
        counts[status.split(":")[0]] += 1
        if status.startswith("failed"):
            print(f"{row['path']}: {status}")
    print(f"{counts['ok']} restored, {counts['skipped']} skipped (output exists), {counts['failed']} failed "
          f"-> {args.output}")
    raise SystemExit(1 if counts["failed"] else 0)


if __name__ == "__main__":
    main()
