"""`uhdrestore models`: the models usable without a download, and `models pull` to make one so."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .common import JsonOpt, QuietOpt, RevisionOpt, errors, print_json, quiet_hub_logging, stderr_console

app = typer.Typer(help="List the bundled model and the uhdrestore models in the local Hub cache; "
                       "`models pull ID` downloads one for offline use.", no_args_is_help=False)


@app.callback(invoke_without_command=True)
def models(ctx: typer.Context, json_output: JsonOpt = False) -> None:
    """List the bundled model and the uhdrestore models in the local Hub cache (other repos are left out)."""
    if ctx.invoked_subcommand is not None:
        return
    from ..hub import list_models

    console = stderr_console(json_output)
    with errors(console):
        found = list_models()
        if json_output:
            print_json({"models": [{"name": m.name, "kind": m.kind, "revision": m.revision,
                                     "location": str(m.location), "size_bytes": m.size_bytes} for m in found]})
            return
        if not found:
            console.print("no models: the bundled default is not installed and the Hub cache holds none "
                          "(uhdrestore models pull ORG/NAME fetches one)")
            return
        table = Table("name", "kind", "revision", "size", "location")
        for m in found:
            table.add_row(m.name, m.kind, (m.revision or "")[:12], f"{m.size_bytes / 1e6:.1f} MB", str(m.location))
        Console().print(table)


@app.command()
def pull(
    repo_id: Annotated[str, typer.Argument(help="The Hub model to fetch, org/name.", show_default=False)],
    revision: RevisionOpt = None,
    quiet: QuietOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Download a Hub model into the local cache and check that it loads, so --offline can use it."""
    from ..hub import load_model

    console = stderr_console(quiet or json_output)
    with errors(console):
        if "/" not in repo_id or repo_id.startswith((".", "/", "~")):
            raise typer.BadParameter(f"expected a Hub id org/name. Got {repo_id!r}")
        quiet_hub_logging()
        if console.quiet:
            import huggingface_hub.utils

            huggingface_hub.utils.disable_progress_bars()
        loaded = load_model(repo_id, revision=revision)
        commit = loaded.source.revision
        if json_output:
            print_json({"command": "models pull", "repo_id": repo_id, "revision": commit,
                        "location": str(loaded.source.weights_path.parent), "sha256": loaded.sha256,
                        "parameters": loaded.parameters})
            return
        console.print(f"pulled {repo_id} at {commit} ({loaded.parameters:,} parameters); offline use: "
                      f"uhdrestore fix PHOTO --model {repo_id} --revision {commit} --offline",
                      highlight=False, soft_wrap=True)
        typer.echo(str(loaded.source.weights_path.parent))
