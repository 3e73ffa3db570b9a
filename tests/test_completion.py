"""Shell completion: `uhdrestore --install-completion` / `--show-completion`, and the protocol they install."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from uhdrestore.cli import app


def complete(words: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What bash completion offers for the last of `words`, as the installed script asks for it."""
    monkeypatch.setenv("_UHDRESTORE_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - 1))
    result = CliRunner().invoke(app, [], prog_name="uhdrestore")
    assert result.exit_code == 0, result.output
    return result.output.split()


def test_commands_and_options_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    assert complete("uhdrestore ba", monkeypatch) == ["batch", "batch-report"]
    assert "--device" in complete("uhdrestore fix --dev", monkeypatch)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_the_script_for_a_shell(shell: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Typer detects the shell from the parent process; this lets the test name it, as a user may.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    result = CliRunner().invoke(app, ["--show-completion", shell], prog_name="uhdrestore")
    assert result.exit_code == 0 and "_UHDRESTORE_COMPLETE" in result.output, result.output


def test_help_lists_the_completion_options() -> None:
    result = CliRunner().invoke(app, ["--help"], prog_name="uhdrestore")
    assert "--install-completion" in result.output and "--show-completion" in result.output
