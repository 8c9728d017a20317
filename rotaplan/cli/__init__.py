"""The ``rotaplan`` command line: the only code that prints, exits or imports typer/rich.

Exit codes are :class:`rotaplan.exit_codes.ExitCode`: 0 a plan was written; 2 the
input is invalid; 3 the scenario is proven infeasible; 4 no plan was found within
the time limit (contract §8). Beyond the contract: 1 ``check`` found violations;
5 a plan was found but failed verification (a bug: please report it); 130 the
run was interrupted (Ctrl-C or SIGTERM) and kept its best verified plan.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated

import click
import typer

from rotaplan import __version__
from rotaplan.cli import files, insight, mss, runs, solve
from rotaplan.cli.common import INTERRUPT, note
from rotaplan.exit_codes import ExitCode

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="rotaplan: rotation and fellowship plans for NHS integrated care systems.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rotaplan {__version__}")
        raise typer.Exit(int(ExitCode.OK))


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", callback=_version,
        is_eager=True)] = False,
) -> None:
    """rotaplan: rotation and fellowship plans for NHS integrated care systems."""


app.command()(solve.solve)
app.command()(solve.replan)
app.command()(insight.explain)
app.command()(insight.capacity)
app.command()(insight.compare)
app.command()(files.validate)
app.command()(files.check)
app.command()(files.schema)
app.command()(files.export)
app.command("import")(files.import_)
app.command()(files.generate)
app.command()(files.ui)
app.command()(runs.batch)
app.command()(runs.sweep)
app.add_typer(mss.app, name="mss")


def _command_name(args: list[str]) -> str:
    """``rotaplan solve`` for an error in the solve command's options."""
    words = [a for a in args if not a.startswith("-")][:1]
    return " ".join(["rotaplan", *words]) if words else "rotaplan"


def run(args: list[str] | None = None) -> int:
    """Run the command line on ``args`` (default: ``sys.argv[1:]``); return the exit code.

    Option and argument errors are one line (``rotaplan solve: no such option:
    --tim``) and exit 2; Ctrl-C and SIGTERM stop the work, keep the best verified
    plan and exit 130.
    """
    args = list(sys.argv[1:] if args is None else args)
    command = typer.main.get_command(app)
    started = time.perf_counter()
    try:
        with INTERRUPT.armed():
            code = command.main(args=args, prog_name="rotaplan", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        name = exc.ctx.command_path if exc.ctx is not None else _command_name(args)
        note(f"{name}: {exc.format_message()} (see '{name} --help')")
        return int(ExitCode.INVALID)
    except click.exceptions.ClickException as exc:
        note(f"rotaplan: {exc.format_message()}")
        return int(ExitCode.INVALID)
    except (KeyboardInterrupt, click.exceptions.Abort):
        note(f"interrupted after {time.perf_counter() - started:.1f}s")
        return int(ExitCode.INTERRUPTED)
    if INTERRUPT.stop.is_set():
        return int(ExitCode.INTERRUPTED)
    return int(code) if isinstance(code, int) else int(ExitCode.OK)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


__all__ = ["app", "main", "run"]
