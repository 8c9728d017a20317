"""The ``rotaplan`` command line: the only code that prints, exits or imports typer/rich.

Exit codes are :class:`rotaplan.exit_codes.ExitCode`: 0 a plan was written; 2 the
input is invalid; 3 the scenario is proven infeasible; 4 no plan was found within
the time limit (contract §8). Beyond the contract: 1 ``check`` found violations;
5 a plan was found but failed verification (a bug: please report it); 130 the
run was interrupted (Ctrl-C or SIGTERM) and kept its best verified plan.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Annotated

import click
import typer

from rotaplan import __version__
from rotaplan.cli import files, insight, mss, runs, solve
from rotaplan.cli.common import INTERRUPT, guarded, note
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


for _name, _command in (("solve", solve.solve), ("replan", solve.replan),
                        ("explain", insight.explain), ("capacity", insight.capacity),
                        ("compare", insight.compare), ("validate", files.validate),
                        ("check", files.check), ("schema", files.schema),
                        ("export", files.export), ("import", files.import_),
                        ("generate", files.generate), ("ui", files.ui),
                        ("batch", runs.batch), ("sweep", runs.sweep)):
    app.command(_name)(guarded(_command))
app.add_typer(mss.app, name="mss")


def _click_errors(name: str) -> tuple[type[BaseException], ...]:
    """Click's exception class ``name``, and typer's own copy of it: typer 0.29 and later
    run on a vendored click (``typer._click``), whose errors are not click's."""
    found: list[type[BaseException]] = [getattr(click.exceptions, name)]
    with contextlib.suppress(ImportError, AttributeError):
        import typer._click.exceptions as vendored

        found.append(getattr(vendored, name))
    return tuple(dict.fromkeys(found))


USAGE_ERRORS = _click_errors("UsageError")
CLICK_ERRORS = _click_errors("ClickException")
INTERRUPTIONS: tuple[type[BaseException], ...] = (KeyboardInterrupt, *_click_errors("Abort"))


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
    except USAGE_ERRORS as exc:
        context = getattr(exc, "ctx", None)
        name = context.command_path if context is not None else _command_name(args)
        message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
        note(f"{name}: {message} (see '{name} --help')")
        return int(ExitCode.INVALID)
    except CLICK_ERRORS as exc:
        message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
        note(f"rotaplan: {message}")
        return int(ExitCode.INVALID)
    except INTERRUPTIONS:
        note(f"interrupted after {time.perf_counter() - started:.1f}s")
        return int(ExitCode.INTERRUPTED)
    if INTERRUPT.stop.is_set():
        return int(ExitCode.INTERRUPTED)
    return int(code) if isinstance(code, int) else int(ExitCode.OK)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


__all__ = ["app", "main", "run"]
