"""`sandbox` command line: `serve` and `seed`.

`bot/cli.py` delegates `evalbot sandbox ...` here: `main(["serve", "--port", "8900", ...])`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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
        help="URL of a sandbox already serving --data-dir; without it one is started for the seeding",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one sandbox command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        print(f"sandbox Hub on http://{args.host}:{args.port} (data: {args.data_dir})", flush=True)
        serve(host=args.host, port=args.port, data_dir=args.data_dir, page_size=args.page_size)
    elif args.command == "seed":
        from sandbox.seed import seed_data_dir, seed_world
        from sandbox.world import build_world

        if args.endpoint:
            tokens = json.loads((args.data_dir / "tokens.json").read_text())
            pushed = seed_world(
                build_world(), endpoint=args.endpoint.rstrip("/"), token=tokens["demo"]
            )
        else:
            pushed = seed_data_dir(args.data_dir)
        print("seeded: " + ", ".join(pushed), flush=True)
    return 0
