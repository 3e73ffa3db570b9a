"""`uhdrestore inspect`: what is wrong with a photo or a folder of photos, and grouping them by it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from .common import (
    DEFAULT_MAX_PIXELS,
    JsonOpt,
    MaxPixelsOpt,
    OfflineOpt,
    QuietOpt,
    RevisionOpt,
    errors,
    print_json,
    progress_display,
    quiet_hub_logging,
    stderr_console,
)

PerceiverOpt = Annotated[str, typer.Option(
    "--perceiver", rich_help_panel="Model",
    help="'default' (the bundled perceiver), a perceiver folder, or a Hub id org/name.")]


def load_perceiver_for_cli(spec: str, revision: str | None, offline: bool) -> Any:
    """The perceiver module, loaded on the CPU (it is small: a 4K photo takes well under a second)."""
    import huggingface_hub.constants

    from ..perceive.inspect import load_perceiver

    quiet_hub_logging()
    return load_perceiver(spec, revision=revision,
                          local_files_only=offline or bool(huggingface_hub.constants.HF_HUB_OFFLINE)).module


def _photos(path: Path, recursive: bool) -> list[Path]:
    from ..batch import list_photos
    from ..errors import InputImageError

    if not path.is_dir():
        if not path.exists():
            raise InputImageError(f"no such file or folder: {path}")
        return [path]  # read_image says what is wrong with it, if anything
    found = list_photos(path, recursive=recursive)
    if not found:
        raise InputImageError(f"no images in {path} (supported: .png .jpg .jpeg .tif .tiff .webp .bmp)")
    return found


def _kinds_text(perception: Any) -> str:
    return ", ".join(f"{kind} {perception.kind_probabilities[kind]:.2f}" for kind in perception.detected) or "-"


def inspect(
    path: Annotated[Path, typer.Argument(help="A photo, or a folder of photos.", show_default=False)],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Include sub-folders.")] = False,
    cluster: Annotated[bool, typer.Option(
        "--cluster", help="Group the photos into a tree by their degradation (repeated two-way k-means).")] = False,
    depth: Annotated[int, typer.Option(min=1, max=8, help="Levels of the --cluster tree.")] = 3,
    min_size: Annotated[int, typer.Option(
        "--min-size", min=1, help="Smallest group --cluster makes.")] = 1,
    sort_into: Annotated[Path | None, typer.Option(
        "--sort-into", help="Copy the photos into DIR/BRANCH/, one folder per leaf of the tree (implies "
                            "--cluster).", show_default=False)] = None,
    link: Annotated[bool, typer.Option("--link", help="With --sort-into: make symbolic links, not copies.")
                    ] = False,
    perceiver: PerceiverOpt = "default",
    revision: RevisionOpt = None,
    offline: OfflineOpt = False,
    max_pixels: MaxPixelsOpt = DEFAULT_MAX_PIXELS,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Say which degradations each photo has (rain, haze, noise, blur, snow, low light), how severe,
    and its quality tier (high = clean, medium, low); optionally group a folder by them."""
    from ..errors import InputImageError, UhdRestoreError
    from ..io import read_image
    from ..perceive.inspect import perceive

    console = stderr_console(quiet or json_output)
    with errors(console):
        paths = _photos(path, recursive)
        model = load_perceiver_for_cli(perceiver, revision, offline)
        perceptions, failed = {}, {}
        with progress_display(console, "files") as progress:
            task = progress.add_task("inspecting", total=len(paths), rate="")
            for photo in paths:
                try:
                    perceptions[photo] = perceive(model, read_image(photo, max_pixels=max_pixels))
                except UhdRestoreError as error:
                    if not path.is_dir():  # one photo: its error is the command's
                        raise
                    failed[photo] = str(error)
                progress.update(task, advance=1)
        tree = None
        if cluster or sort_into is not None:
            if len(perceptions) < 2:
                raise InputImageError("--cluster and --sort-into need a folder with at least 2 readable photos")
            tree = _cluster(perceptions, depth, min_size)
        placed = None
        if sort_into is not None and tree is not None:
            from ..perceive.sorting import sort_into as place

            placed = place(sort_into, _groups(tree, perceptions), link=link)
        if json_output:
            print_json(_json_report(perceptions, failed, tree, sort_into, placed))
        elif not quiet:
            _print_report(perceptions, failed, tree, sort_into, placed, relative_to=path if path.is_dir() else None)
        else:  # quiet: errors only
            for photo, error in failed.items():
                stderr_console().print(f"[red]failed:[/] {photo}: {error}", highlight=False, soft_wrap=True)
        if failed:
            raise typer.Exit(1)


def _cluster(perceptions: dict[Path, Any], depth: int, min_size: int) -> Any:
    import numpy as np

    from ..perceive.tree import build_tree

    embeddings = np.stack([p.embedding for p in perceptions.values()])
    return build_tree(embeddings, depth=depth, min_size=min_size)


def _dominant(node: Any, perceptions: dict[Path, Any]) -> list[tuple[str, float]]:
    import numpy as np

    from ..perceive.model import PERCEIVED_KINDS
    from ..perceive.tree import dominant_kinds

    probabilities = np.array([[p.kind_probabilities[k] for k in PERCEIVED_KINDS] for p in perceptions.values()])
    return dominant_kinds(probabilities, node.members, PERCEIVED_KINDS)


def _groups(tree: Any, perceptions: dict[Path, Any]) -> dict[str, list[Path]]:
    from ..perceive.sorting import branch_name

    paths = list(perceptions)
    return {branch_name(leaf, _dominant(leaf, perceptions)): [paths[i] for i in leaf.members]
            for leaf in tree.leaves()}


def _tree_dict(node: Any, perceptions: dict[Path, Any]) -> dict[str, Any]:
    paths = list(perceptions)
    entry: dict[str, Any] = {"branch": node.path, "count": len(node.members),
                             "dominant": [{"kind": k, "share": round(s, 3)} for k, s in _dominant(node, perceptions)]}
    if node.is_leaf:
        entry["files"] = [str(paths[i]) for i in node.members]
    else:
        entry["children"] = [_tree_dict(child, perceptions) for child in node.children]
    return entry


def _json_report(perceptions: dict[Path, Any], failed: dict[Path, str], tree: Any, sort_into: Path | None,
                 placed: tuple[int, int] | None) -> dict[str, Any]:
    report: dict[str, Any] = {
        "command": "inspect",
        "items": [{"input": str(p), "status": "ok", **perception.to_dict()} for p, perception in perceptions.items()]
        + [{"input": str(p), "status": "failed", "error": error} for p, error in failed.items()],
        "summary": {"inspected": len(perceptions), "clean": sum(p.is_clean for p in perceptions.values()),
                    "failed": len(failed)}}
    if tree is not None:
        report["tree"] = _tree_dict(tree, perceptions)
    if sort_into is not None and placed is not None:
        report["sorted_into"] = {"folder": str(sort_into), "placed": placed[0], "already_there": placed[1]}
    return report


def _print_report(perceptions: dict[Path, Any], failed: dict[Path, str], tree: Any, sort_into: Path | None,
                  placed: tuple[int, int] | None, *, relative_to: Path | None) -> None:
    out = Console()
    table = Table("photo", "quality", "severity", "detected (probability)")
    colours = {"high": "green", "medium": "yellow", "low": "red"}
    for photo, perception in perceptions.items():
        name = str(photo.relative_to(relative_to)) if relative_to else str(photo)
        tier = perception.tier
        table.add_row(name, f"[{colours[tier]}]{tier}{' (clean)' if perception.is_clean else ''}[/]",
                      f"{perception.severity:.2f}", _kinds_text(perception))
    out.print(table)
    if tree is not None:
        out.print(_rich_tree(tree, perceptions))
    if sort_into is not None and placed is not None:
        out.print(f"sorted into {sort_into}: {placed[0]} placed, {placed[1]} already there", highlight=False)
    for photo, error in failed.items():
        out.print(f"[red]failed:[/] {photo}: {error}", highlight=False, soft_wrap=True)


def _rich_tree(tree: Any, perceptions: dict[Path, Any]) -> Tree:
    def label(node: Any) -> str:
        dominant = ", ".join(f"{kind} {share:.0%}" for kind, share in _dominant(node, perceptions)) or "clean"
        name = "all photos" if node.path == "root" else f"branch {node.path}"
        return f"[bold]{name}[/] ({len(node.members)}): {dominant}"

    def grow(branch: Tree, node: Any) -> None:
        for child in node.children:
            grow(branch.add(label(child)), child)

    root = Tree(label(tree))
    grow(root, tree)
    return root
