"""`uhdrestore push`: publish a model folder to the Hub and print the commit to pin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import JsonOpt, QuietOpt, errors, print_json, quiet_hub_logging, stderr_console


def push(
    model_dir: Annotated[Path, typer.Argument(help="A model folder (config.json + model.safetensors [+ README.md]).",
                                              show_default=False)],
    repo_id: Annotated[str, typer.Argument(help="The Hub repository, org/name (created if missing).",
                                           show_default=False)],
    private: Annotated[bool, typer.Option("--private", help="Create the repository private (new ones only).")
                       ] = False,
    revision: Annotated[Optional[str], typer.Option(
        help="Branch to push to (created from main if missing; default main).", show_default=False)] = None,
    create_pr: Annotated[bool, typer.Option("--create-pr", help="Open a pull request against main instead of "
                                                                "committing to it.")] = False,
    message: Annotated[Optional[str], typer.Option("--message", "-m", help="Commit message.",
                                                   show_default=False)] = None,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Push a model folder to the Hub (after loading it strictly) and print the commit hash to pin with --revision.

    Needs a token with write access: `hf auth login`, or HF_TOKEN.
    """
    from ..errors import PublishError
    from ..publish import check_repo_id, push_model

    console = stderr_console(quiet or json_output)
    with errors(console):
        try:
            check_repo_id(repo_id)
        except PublishError as error:
            raise typer.BadParameter(str(error)) from None
        if create_pr and revision not in (None, "main"):
            raise typer.BadParameter("--create-pr opens a pull request against main: it cannot be combined with "
                                     f"--revision {revision}")
        quiet_hub_logging()
        if quiet or json_output:
            import huggingface_hub.utils

            huggingface_hub.utils.disable_progress_bars()
        result = push_model(model_dir, repo_id, private=private or None, revision=revision, create_pr=create_pr,
                            commit_message=message)
        if json_output:
            print_json({"command": "push", "repo_id": result.repo_id, "commit": result.commit,
                        "revision": result.revision, "commit_url": result.commit_url, "pr_url": result.pr_url})
            return
        where = f"pull request {result.pr_url}" if result.pr_url else f"{result.repo_id}@{result.revision}"
        console.print(f"pushed {model_dir} to {where}; use: uhdrestore fix PHOTO --model {result.repo_id} "
                      f"--revision {result.commit}", highlight=False, soft_wrap=True)
        typer.echo(result.commit)
