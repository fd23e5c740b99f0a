"""`keystead login`: save a server and client credentials as a profile for remote mode."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from keystead.cli import exit_codes
from keystead.cli.exit_codes import stop
from keystead.cli.profiles import Profile, save_profile
from keystead.cli.remote import Api


def login(
    server: Annotated[str, typer.Option(metavar="URL", help="The server's base URL")],
    client_id: Annotated[str, typer.Option(metavar="CLIENT-ID",
                                           help="The admin client to sign in as")],
    profile: Annotated[str, typer.Option(metavar="NAME", help="The profile to write")]
    = "default",
    client_secret_stdin: Annotated[bool, typer.Option(
        "--client-secret-stdin", help="Read the secret from standard input (for scripts); "
                                      "otherwise it is prompted for")] = False,
) -> None:
    """Check the client's credentials against the server and save them as profile NAME (in a
    file only you may read: 0600); then run commands with --profile NAME or KEYSTEAD_PROFILE.

    The secret is never taken from the command line, where the shell history would keep it.
    """
    if not server.startswith(("http://", "https://")):
        stop(f"--server must be an http(s) URL, not {server!r}", exit_codes.USAGE)
    if client_secret_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = typer.prompt("Client secret", hide_input=True)
    if not secret:
        stop("the client secret is empty", exit_codes.USAGE)
    where = Profile(server.rstrip("/"), client_id.strip(), secret)
    Api(where).call("GET", "/api/v2/tokens/me")  # signs in; exits if refused
    path = save_profile(profile, where)
    typer.echo(f"signed in to {where.server} as {where.client_id}; saved as profile {profile!r} "
               f"in {path}")
