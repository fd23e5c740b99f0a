"""The profile file: named servers and the client credentials the CLI signs in with.

``~/.config/keystead/profiles.toml`` (``KEYSTEAD_PROFILES`` names another), one table per profile::

    [prod]
    server = "https://keystead.example.com"
    client_id = "…"
    client_secret = "…"

It holds secrets, so it is read only when no one but its owner may read or write it (0600), the
rule ssh applies to its keys, and written that way.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from keystead.cli import exit_codes
from keystead.cli.exit_codes import stop

PROFILES_VARIABLE = "KEYSTEAD_PROFILES"


@dataclass(frozen=True, slots=True)
class Profile:
    server: str
    client_id: str
    client_secret: str = field(repr=False)  # never in a traceback or a log line


def profiles_path() -> Path:
    named = os.environ.get(PROFILES_VARIABLE, "").strip()
    if named:
        return Path(named).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(base) / "keystead" / "profiles.toml"


def _read_all(path: Path) -> dict[str, dict[str, object]]:
    """Every profile in ``path`` (none when it does not exist); exits when it is unsafe or
    malformed."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if stat.S_IMODE(mode) & 0o077:
        stop(f"{path} may be read or changed by others (mode {stat.S_IMODE(mode):04o}) and holds "
             f"client secrets; run `chmod 600 {path}`", exit_codes.USAGE)
    try:
        loaded = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        # The message names the line, never its content (which may be a secret).
        stop(f"cannot read {path}: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}",
             exit_codes.USAGE)
    return {name: table for name, table in loaded.items() if isinstance(table, dict)}


def load_profile(name: str) -> Profile:
    """The named profile; exits 2 when the file is unsafe, or the profile missing or incomplete."""
    path = profiles_path()
    table = _read_all(path).get(name)
    if table is None:
        stop(f"no profile {name!r} in {path}; create it with `keystead login --profile {name} "
             "--server URL --client-id ID`", exit_codes.USAGE)
    values = {key: table.get(key) for key in ("server", "client_id", "client_secret")}
    missing = [key for key, value in values.items() if not isinstance(value, str) or not value]
    if missing:
        stop(f"profile {name!r} in {path} lacks {', '.join(missing)}", exit_codes.USAGE)
    return Profile(str(values["server"]), str(values["client_id"]), str(values["client_secret"]))


def save_profile(name: str, profile: Profile) -> Path:
    """Add or replace the named profile, keeping the others; the file and its folder are made
    readable by the owner only."""
    path = profiles_path()
    profiles = _read_all(path)
    profiles[name] = {"server": profile.server, "client_id": profile.client_id,
                      "client_secret": profile.client_secret}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lines = []
    for profile_name, table in profiles.items():
        lines.append(f"[{json.dumps(profile_name, ensure_ascii=False)}]")
        # A JSON string is a valid TOML basic string (same escapes).
        lines += [f"{key} = {json.dumps(str(value), ensure_ascii=False)}"
                  for key, value in table.items()]
        lines.append("")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(descriptor, "w", encoding="utf-8") as written:
        written.write("\n".join(lines))
    return path
