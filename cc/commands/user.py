"""``cc user ...``."""

from __future__ import annotations

import sys

import typer

from cc.commands._common import info, label, print_json, print_table, services

app = typer.Typer(help="Staff accounts: add, list, passwd, disable, enable.", no_args_is_help=True)


def _read_password(password_stdin: bool) -> str:
    from cc.errors import UsageError

    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password", "pipe it in with --password-stdin")
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise UsageError("the two passwords differ", "type the same password twice")
    return first


@app.command("add")
def add(
    ctx: typer.Context,
    name: str,
    role: str = typer.Option(..., "--role", help="admin, supervisor, agent or expert."),
    display_name: str = typer.Option("", "--display-name", help="Name shown on screens, e.g. 王芳."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Add a user; asks for the password."""
    user = services(ctx).users.add(name, role=role, password=_read_password(password_stdin), display_name=display_name)
    info(f"added {user['role']} {user['name']}")


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """All users and their roles."""
    users = services(ctx).users.list()
    data = [{"name": u["name"], "display_name": u["display_name"], "role": u["role"], "disabled": bool(u["disabled"])} for u in users]
    if as_json:
        print_json(data)
        return
    print_table([label(ctx, "user"), label(ctx, "name"), label(ctx, "role"), label(ctx, "disabled")],
                [[d["name"], d["display_name"], d["role"], label(ctx, "yes") if d["disabled"] else ""] for d in data])


@app.command("passwd")
def passwd(
    ctx: typer.Context, name: str,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Set a user's password."""
    services(ctx).users.set_password(name, _read_password(password_stdin))
    info(f"password changed for {name}")


@app.command("disable")
def disable(ctx: typer.Context, name: str) -> None:
    """Stop a user from signing in (history keeps their name)."""
    services(ctx).users.set_disabled(name, True)
    info(f"{name} disabled")


@app.command("enable")
def enable(ctx: typer.Context, name: str) -> None:
    """Let a disabled user sign in again."""
    services(ctx).users.set_disabled(name, False)
    info(f"{name} enabled")
