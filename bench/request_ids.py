"""What the request id and the access line add to each fast-path request, single core.

usage: PYTHONPATH=src .venv/bin/python bench/request_ids.py [--level INFO|WARNING] [--old]

Drives the outermost ASGI layer (web/fast_path.ProtocolFastPath) with a token endpoint that
answers at once, so only the layer's own work is timed: header scan, id, context variable,
access line, response. ``--level INFO`` writes the JSON access lines to /dev/null (a log
collector's pipe costs about the same write); ``WARNING`` skips them. ``--old`` skips the
logging set-up, for timing a checkout from before the change with the same script.
Also prints the cost of each added step alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import timeit
from collections.abc import MutableMapping
from typing import Any

from starlette.applications import Starlette

from keystead.web.fast_path import ProtocolFastPath


class Answering:
    async def handle(self, body: bytes, *, authorization: str | None,  # noqa: ARG002
                     remote_ip: str) -> dict[str, Any] | None:  # noqa: ARG002
        return {"access_token": "x", "token_type": "Bearer", "expires_in": 3600}


SCOPE = {"type": "http", "method": "POST", "path": "/oauth/token", "query_string": b"",
         "client": ("127.0.0.1", 5000), "headers": [
             (b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"),
             (b"content-type", b"application/x-www-form-urlencoded"),
             (b"authorization", b"Basic YWJjOmRlZg=="), (b"content-length", b"29")]}
BODY = {"type": "http.request", "body": b"grant_type=client_credentials", "more_body": False}


async def _receive() -> MutableMapping[str, Any]:
    return BODY


async def _send(_message: MutableMapping[str, Any]) -> None:
    return None


async def per_request_us(layer: ProtocolFastPath, n: int) -> float:
    for _ in range(1000):
        await layer(dict(SCOPE), _receive, _send)
    # CPU time of this process: on a shared machine wall time mostly measures the neighbours.
    started = time.process_time()
    for _ in range(n):
        await layer(dict(SCOPE), _receive, _send)
    return (time.process_time() - started) / n * 1e6


def steps() -> None:
    from keystead.request_context import accepted_request_id, begin, end

    def context() -> None:
        end(begin("0123456789abcdef")[1])

    for name, fn in (("new id: os.urandom(8).hex()", lambda: accepted_request_id(None)),
                     ("caller's id checked (36-char UUID)",
                      lambda: accepted_request_id(b"3f2504e0-4f89-11d3-9a0c-0305e82c3301")),
                     ("context variable set + reset", context)):
        n = 200_000
        best = min(timeit.repeat(fn, number=n, repeat=5, timer=time.process_time))
        print(f"  {name:<44} {best / n * 1e6:6.2f} µs", file=sys.__stdout__)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--level", default="WARNING")
    parser.add_argument("--old", action="store_true")
    parser.add_argument("-n", type=int, default=100_000)
    args = parser.parse_args()
    if not args.old:
        from keystead.config import LogFormat
        from keystead.log_setup import configure_logging
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the whole run
        configure_logging(args.level, LogFormat.json)
    layer = ProtocolFastPath(Starlette())
    layer.endpoints = {"/oauth/token": lambda _runtime: Answering()}
    layer.state.runtime = None
    runs = sorted(asyncio.run(per_request_us(layer, args.n)) for _ in range(5))
    print(f"outer layer, one token request: median {runs[2]:.2f} µs, best {runs[0]:.2f} µs "
          f"({'old code' if args.old else 'log level ' + args.level})", file=sys.__stdout__)
    if not args.old:
        steps()


if __name__ == "__main__":
    main()
