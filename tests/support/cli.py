"""The installed ``keystead`` command, run as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KEYSTEAD_COMMAND = str(Path(sys.executable).with_name("keystead"))


def keystead_cli(env: dict[str, str], *args: str,
                 stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``keystead`` command with ``env`` as its only KEYSTEAD_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")} | env
    return subprocess.run([KEYSTEAD_COMMAND, *args], env=clean, capture_output=True, text=True,
                          input=stdin, timeout=120, check=False)
