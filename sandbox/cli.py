"""`sandbox` command line: `serve` and `seed`.

`bot/cli.py` delegates `evalbot sandbox ...` here: `main(["serve", "--port", "8900", ...])`.
One data dir has one server: `serve` refuses a dir that another live process serves (exit code
2), and `seed` pushes through that process when there is one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sandbox.errors import DataDirInUse
from sandbox.server import serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sandbox", description="A local stand-in for the Hub API."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the sandbox Hub over HTTP")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8900)
    serve_cmd.add_argument("--data-dir", type=Path, required=True)
    serve_cmd.add_argument("--page-size", type=int, default=None, help="items per listing page")
    seed_cmd = commands.add_parser(
        "seed", help="build the demo world (cached) and push it as `demo`"
    )
    seed_cmd.add_argument("--data-dir", type=Path, required=True, help="the sandbox's data dir")
    seed_cmd.add_argument(
        "--endpoint",
        default=None,
        help="URL of the sandbox serving --data-dir; by default the one recorded in "
        "DATA_DIR/server.json if it is live, else one is started for the seeding",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one sandbox command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            serve(host=args.host, port=args.port, data_dir=args.data_dir, page_size=args.page_size)
        elif args.command == "seed":
            print("seeded: " + ", ".join(_seed(args.data_dir, args.endpoint)), flush=True)
    except DataDirInUse as busy:
        print(f"sandbox: {busy}", file=sys.stderr)
        return 2
    return 0


def _seed(data_dir: Path, endpoint: str | None) -> list[str]:
    from sandbox.seed import seed_data_dir, seed_world
    from sandbox.world import build_world

    if endpoint is None:
        return seed_data_dir(data_dir)
    tokens = json.loads((data_dir / "tokens.json").read_text())
    return seed_world(build_world(), endpoint=endpoint.rstrip("/"), token=tokens["demo"])
