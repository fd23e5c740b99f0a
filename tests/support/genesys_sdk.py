"""Importing the official Genesys Cloud SDK without its home-directory watcher.

On import the SDK makes its configuration singleton, which (unless its config file says
otherwise) starts a thread watching ``~/.genesyscloudpython`` for the life of the process, or,
where that folder does not exist, the whole home directory, recursively: over 17,000 folders
here. A test worker then spent CPU on file events for the rest of the run. The SDK reads the
setting when the singleton is made, so the first import runs with HOME at a folder whose config
file turns live reload off.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

import pytest

SDK = "PureCloudPlatformClientV2"


def import_without_watcher() -> None:
    """Import the SDK (once a process) with live reload of its config file off."""
    if SDK in sys.modules:
        return
    with tempfile.TemporaryDirectory() as quiet_home, pytest.MonkeyPatch.context() as patch:
        config = Path(quiet_home, ".genesyscloudpython", "config")
        config.parent.mkdir()
        config.write_text("[general]\nlive_reload_config = false\n")
        patch.setenv("HOME", quiet_home)
        importlib.import_module(SDK)


def uses_sdk(module_path: Path) -> bool:
    return SDK in module_path.read_text(encoding="utf-8")
