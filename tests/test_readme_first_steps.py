"""The README's "First steps", then the Governance section's worked example, run as a reader
pastes them, so that they stay true.

Every ``sh`` block of the section runs in order in one bash process (``set -euo pipefail``), in a
fresh directory, against a real server, and each block's output is checked for what a reader
looks at. Two things differ from a reader's terminal, and only these: the server listens on a
reserved port instead of 8000 (the README's one ``BASE=`` line is rewritten), and ``make run``
stands for what the Makefile runs, ``keystead init`` then ``keystead serve`` from the venv the
tests run in (``.venv`` in the directory links to it; no second install).

The Genesys SDK block installs the SDK with pip: it is a test extra, so in the test venv that is a
no-op; if it cannot be installed the block fails, and so does this test (never a skip).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import keystead
from tests.support.servers import reserved_port

README = Path(__file__).parents[1] / "README.md"
SECTION = "## First steps"
EXAMPLE = "### A worked example"  # under "## Governance": pasted after the first steps
COMPLIANCE = "### Compliance report"  # under "## Monitoring and compliance": pasted last
SHELL_BLOCK = re.compile(r"^```(?:sh|bash)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
README_BASE = "BASE=http://127.0.0.1:8000"
# The whole section takes 20-40 s on a loaded 2-core machine; a hang ends here, with its output.
WHOLE_RUN_SECONDS = 300
MARKER = "::first-steps block {}::"

# ``make run`` as the Makefile runs it, on the test's port: the only make target the section uses.
MAKE_RUN = """
make() {{
  if [ "$*" != run ]; then echo "the README test stands in only for 'make run', not: make $*" >&2
                          return 2; fi
  .venv/bin/keystead init && exec .venv/bin/keystead serve --host 127.0.0.1 --port {port} \\
    --workers 1
}}
"""


def section_blocks(heading: str) -> list[str]:
    """The shell blocks under ``heading`` up to the next heading of its level or above."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    level = heading.split(" ", 1)[0]
    # From "##" down: a "# " line is a comment in a shell block, not a heading.
    ends = [i for i in (text.find(f"\n{'#' * n} ", start + len(heading) + 2)
                        for n in range(2, len(level) + 1)) if i != -1]
    return SHELL_BLOCK.findall(text[start:min(ends) if ends else None])


def first_steps_blocks() -> list[str]:
    """The shell blocks of the README's "First steps" section, in order."""
    return section_blocks(SECTION)


def script(blocks: list[str], port: int) -> str:
    """One bash script: the stand-in for ``make run``, then each block after its marker."""
    parts = ["set -euo pipefail", MAKE_RUN.format(port=port)]
    for index, block in enumerate(blocks):
        parts += [f"echo '{MARKER.format(index)}'", block]
    parts.append(f"echo '{MARKER.format('end')}'")
    return "\n".join(parts)


def split_output(output: str, count: int) -> list[str]:
    """Each block's output (stdout and stderr), by the markers; missing blocks are absent."""
    # Not anchored: a block's last line may end without a newline (curl prints none).
    pieces = re.split(r"::first-steps block (\w+)::\n", output)
    by_block = dict(zip(pieces[1::2], pieces[2::2], strict=True))
    return [by_block[str(i)] for i in range(count) if str(i) in by_block]


def venv_root() -> Path:
    """The venv the tests run in: the reader's ``.venv``."""
    root = Path(sys.prefix)
    needed = ("run the tests from the project's venv (make test): the README's blocks call "
              ".venv/bin/keystead and .venv/bin/pip")
    assert sys.prefix != sys.base_prefix, needed
    assert (root / "bin" / "keystead").exists(), needed
    assert (root / "bin" / "pip").exists(), needed
    return root


def run_first_steps(blocks: list[str], workdir: Path, port: int) -> tuple[int | None, str, str]:
    """Run ``blocks`` in ``workdir``; the exit status (None: timed out), output, server log."""
    (workdir / ".venv").symlink_to(venv_root(), target_is_directory=True)
    # Nothing of the test's own settings leaks in; the data directory is the Makefile's `var`,
    # here inside the temporary directory. The code under test is this checkout's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env |= {"KEYSTEAD_DATA_DIR": "var",
            "PYTHONPATH": str(Path(keystead.__file__).parents[1]),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    output_path = workdir / "output.txt"
    bash = shutil.which("bash")
    assert bash is not None, "the README's blocks are bash"
    with output_path.open("w", encoding="utf-8") as output:
        # A session of its own: the background server is in its process group, stopped below.
        process = subprocess.Popen(
            [bash, "-c", script(blocks, port)], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            status: int | None = process.wait(timeout=WHOLE_RUN_SECONDS)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            _stop_group(process.pid)
    log = workdir / "var" / "keystead.log"
    return (status, output_path.read_text(encoding="utf-8"),
            log.read_text(encoding="utf-8") if log.exists() else "")


def _stop_group(group: int) -> None:
    """Stop the script and the server it left in the background (only the group started here)."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def last_json(text: str) -> dict[str, object]:
    """The last line of ``text`` that is a JSON object."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            found: dict[str, object] = json.loads(line)
            return found
    raise AssertionError(f"no JSON object in:\n{text}")


def test_every_first_steps_block_runs_as_pasted(tmp_path: Path) -> None:
    for tool in ("curl", "python3", "date"):
        assert shutil.which(tool), f"the README's blocks need {tool}"
    blocks = first_steps_blocks() + section_blocks(EXAMPLE) + section_blocks(COMPLIANCE)
    assert sum(block.count(README_BASE) for block in blocks) == 1, (
        f"the blocks set {README_BASE} once and reach the server only through $BASE")
    assert sum(block.count("127.0.0.1:8000") for block in blocks) == 1
    port = reserved_port()
    blocks = [block.replace(README_BASE, f"BASE=http://127.0.0.1:{port}") for block in blocks]

    status, output, server_log = run_first_steps(blocks, tmp_path, port)
    outputs = split_output(output, len(blocks))
    if status != 0:
        failed = len(outputs) - 1
        pytest.fail(f"first steps block {failed} "
                    f"{'timed out' if status is None else f'exited {status}'}:\n"
                    f"{blocks[failed] if failed >= 0 else ''}\n--- its output:\n"
                    f"{outputs[failed] if failed >= 0 else output}\n--- server log:\n"
                    f"{server_log[-4000:]}")
    assert output.rstrip().endswith(MARKER.format("end"))
    assert len(outputs) == 15, "the README's first steps changed: check each new block below"
    (ready, bootstrap, scopes, service_client, rotation, usage, lifecycle, audit,
     sdk, admins, policy, deactivation, review, deletion, compliance) = outputs

    assert last_json(ready)["status"] == "ready"
    assert re.fullmatch(r"[0-9a-f-]{36}", bootstrap.strip())

    created_scopes = [json.loads(line) for line in scopes.splitlines()[1:]]
    assert [s["id"] for s in created_scopes] == ["externalcontacts:manage", "invoices"]

    app_token, refused = service_client.strip().splitlines()
    assert json.loads(app_token)["scope"] == "externalcontacts:manage"
    assert refused == "401"

    # The new secret gets a token; after expire-previous the old one is refused.
    new_secret_scope, old_secret = rotation.strip().splitlines()
    assert new_secret_scope == "externalcontacts:manage"
    assert json.loads(old_secret)["error"] == "invalid_client"

    results = last_json(usage)
    assert results["queryStatus"] == "Complete"
    assert isinstance(results["results"], list)
    counts = results["results"][0]
    assert (counts["status200"], counts["status401"]) == (3, 1)

    disabled, date_to_delete, deleted = lifecycle.strip().splitlines()
    assert disabled == "disabled"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", date_to_delete)
    assert deleted == "204"

    actions = {line.split()[1] for line in audit.strip().splitlines()}
    assert {"create", "secret.regenerate", "secret.expire.previous", "state.change",
            "delete"} <= actions

    assert sdk.strip().splitlines()[-1] == "['ops admin']"

    # The Governance worked example.
    assert re.fullmatch(r"[0-9a-f-]{36}", admins.strip())
    assert policy.strip().splitlines() == ["True", "policy.ownerRequired", "Olive Owner"]
    state, deprecation, sunset = deactivation.strip().splitlines()
    assert state == "scheduled"
    assert re.fullmatch(r"(?i)deprecation: @\d+\s*", deprecation)
    assert re.fullmatch(r"(?i)sunset: \w{3}, \d\d \w{3} \d{4} 00:00:00 GMT\s*", sunset)
    decision, *report = review.strip().splitlines()
    assert decision == "keep"
    assert "Ledger sync" in report[1]
    assert "posts the nightly ledger" in report[1]
    assert deletion.strip().splitlines() == ["202", "403", "approved", "404", "False"]

    # The compliance report, after the worked example turned deletion approval off again.
    *controls, header = compliance.strip().splitlines()
    assert len(controls) == 15
    assert all(line.split()[0] in ("pass", "fail") for line in controls)
    assert "fail soc2-change-management - deletion approval off" in "\n".join(controls)
    assert header == "regime,control,title,status,evidence,failing"
