"""The ``condorfed`` command: a click group whose subcommands live one module per noun.

Errors are mapped to exit codes here and nowhere else: a :class:`CondorfedError` becomes one
line on stderr and exit code 2; ``-v`` keeps the traceback for debugging.
"""

from __future__ import annotations

import importlib
import sys

import click

from condorfed import __version__
from condorfed.errors import CondorfedError

# name -> "module:attribute". Loaded lazily so that `condorfed token create` does not pay for
# numpy, matplotlib or the kubernetes client.
_COMMANDS: dict[str, str] = {
    "negotiate": "condorfed.cli.negotiate:negotiate",
    "analyze": "condorfed.cli.negotiate:analyze",
    "init": "condorfed.cli.federation:init",
    "join": "condorfed.cli.federation:join",
    "unjoin": "condorfed.cli.federation:unjoin",
    "status": "condorfed.cli.federation:status",
    "render": "condorfed.cli.render:render",
    "token": "condorfed.cli.token:token",
    "policy": "condorfed.cli.policy:policy",
    "campaign": "condorfed.cli.campaign:campaign",
    "controller": "condorfed.cli.controller:controller",
    "simulate": "condorfed.cli.simulate:simulate",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None  # not built yet
        return getattr(module, attr, None)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="condorfed")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Federate HTCondor across Kubernetes clusters: negotiate, join, burst and simulate."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    if verbose:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and map errors to one line and exit code 2."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args or "--verbose" in args
    try:
        cli.main(args=args, prog_name="condorfed", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("condorfed: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CondorfedError as exc:
        if verbose:
            raise
        click.echo(f"condorfed: {exc}", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
