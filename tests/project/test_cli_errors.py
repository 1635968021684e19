"""Exit codes are decided in one place: user errors are one line on stderr and exit code 2."""

from __future__ import annotations

import click
import pytest

from condorfed.cli import main as cli_main
from condorfed.errors import ConfigError


@pytest.fixture
def failing_command(monkeypatch: pytest.MonkeyPatch) -> None:
    @click.command("boom")
    def boom() -> None:
        raise ConfigError("federation.yaml: clusters[0].name: 'Bad_Name' is not a DNS-1123 label")

    monkeypatch.setitem(cli_main._COMMANDS, "boom", "tests_boom:boom")
    monkeypatch.setattr(cli_main._LazyGroup, "get_command", lambda self, ctx, name: boom)


def test_condorfed_error_is_one_line_and_exit_2(failing_command: None, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["boom"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("condorfed: federation.yaml: clusters[0].name")
    assert "Traceback" not in err


def test_verbose_keeps_the_traceback(failing_command: None) -> None:
    with pytest.raises(ConfigError):
        cli_main.main(["-v", "boom"])


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["no-such-command"])
    assert exc.value.code == 2
    assert "No such command" in capsys.readouterr().err
