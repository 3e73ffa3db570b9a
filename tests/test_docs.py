"""docs/cli.md is generated from the Typer app, so it cannot drift from `--help`: this test fails
when an option changed and `make docs` was not run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REFERENCE = Path(__file__).parents[1] / "docs" / "cli.md"


def test_the_cli_reference_matches_the_app(tmp_path):
    generated = tmp_path / "cli.md"
    subprocess.run([sys.executable, "-m", "typer", "uhdrestore.cli", "utils", "docs", "--name", "uhdrestore",
                    "--output", str(generated)], check=True, capture_output=True)
    assert generated.read_text() == REFERENCE.read_text(), "docs/cli.md is out of date: run `make docs`"
    for command in ("fix", "batch", "inspect", "train", "push"):
        assert f"## `uhdrestore {command}`" in REFERENCE.read_text()
