"""The `uhdrestore` command line; each command lives in its own module of this package."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import degrade, env, export, inspect, models, perceiver, push, restore, scale, train

app = typer.Typer(
    name="uhdrestore",
    help="Restore photos (rain, haze, noise, blur, snow, low light) with one lightweight network.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,  # --install-completion, --show-completion (bash, zsh, fish, PowerShell)
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"uhdrestore {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Restore photos (rain, haze, noise, blur, snow, low light) with one lightweight network.

    Exit codes: 0 success, 1 some batch items failed or an unexpected error, 2 usage error,
    3 bad input image, 4 model or weights problem, 5 device or memory problem,
    6 output problem, 130 interrupted. Set UHDRESTORE_DEBUG=1 for tracebacks.
    """




app.command()(restore.fix)
app.command()(restore.batch)
app.command("batch-report")(scale.batch_report)
app.add_typer(models.app, name="models")
app.command()(inspect.inspect)
app.command()(degrade.degrade)
app.command()(train.train)
app.command("train-perceiver")(perceiver.train_perceiver)
app.command()(export.export)
app.command()(push.push)
app.command()(env.env)
