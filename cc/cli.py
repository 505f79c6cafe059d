"""The ``cc`` command line. Kept light: heavy modules load only inside the command that needs them."""

from __future__ import annotations

import sys

import typer

from cc import __version__
from cc.commands._common import state

app = typer.Typer(
    name="cc",
    help="cc: the dairy's telephone ordering call center (IVR, queues, agents, SMS confirmation, orders).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cc {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: str = typer.Option(None, "--config", envvar="CC_CONFIG", help="YAML config file (see examples/cc.yaml)."),
    db: str = typer.Option(None, "--db", envvar="CC_DB", help="SQLite database file [default: ./cc.db]."),
    user: str = typer.Option(
        None, "--user", envvar="CC_USER", help="Act as this cc user (role checks apply); default: the site administrator."
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    cli = state(ctx)
    cli.config_path, cli.db_path, cli.user = config, db, user


def _register() -> None:
    """Add the command groups to ``app``, once per process (main() may be called again in-process)."""
    from cc.commands import registry  # noqa: PLC0415

    if getattr(app, "_cc_registered", False):
        return
    app._cc_registered = True
    for name, module, help_text in registry.GROUPS:
        app.add_typer(registry.lazy_group(module), name=name, help=help_text)
    for name, module, attr, help_text in registry.COMMANDS:
        app.command(name, help=help_text)(registry.load(module, attr))


def main(argv: list[str] | None = None) -> None:
    """Entry point: one place turns every failure into ``Error:``/``Hint:`` and an exit code."""
    from cc.errors import CcError, ExitCode

    try:  # typer >= 0.20 vendors click as typer._click
        from typer._click import exceptions as click_exceptions
    except ImportError:  # pragma: no cover - older typer uses click itself
        from click import exceptions as click_exceptions

    _register()
    try:
        result = app(args=argv, prog_name="cc", standalone_mode=False)
    except CcError as exc:
        _fail(exc.message, exc.hint, exc.exit_code)
    except click_exceptions.NoArgsIsHelpError as exc:
        sys.stderr.write(exc.format_message() + "\n") if exc.format_message() else None
        sys.exit(ExitCode.USAGE)
    except click_exceptions.UsageError as exc:
        _fail(exc.format_message(), _usage_hint(exc), ExitCode.USAGE)
    except click_exceptions.ClickException as exc:
        _fail(exc.format_message(), None, ExitCode.USAGE)
    except typer.Exit as exc:  # (typer's own Exit and Abort: its vendored click has none)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt, EOFError):
        sys.stderr.write("Interrupted.\n")
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        sys.exit(0)
    if result == ExitCode.INTERRUPTED and isinstance(result, int):  # typer returns Ctrl-C as Exit(130)
        sys.stderr.write("Interrupted.\n")
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(0)


def _usage_hint(exc: Exception) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "cc"
    return f"run '{path} --help' to see what it takes"


def _fail(message: str, hint: str | None, code: int) -> None:
    sys.stderr.write(f"Error: {message}\n")
    if hint:
        sys.stderr.write(f"Hint: {hint}\n")
    sys.exit(int(code))
