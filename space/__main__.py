"""``python -m space``: serve the Space over a results dataset (a Hub dataset repo or a folder)."""

import argparse
import os

from space.app import log_to_stderr, serve, settings, source_from
from space.errors import SpaceError

parser = argparse.ArgumentParser(prog="python -m space", description="Serve the evalbot Space.")
where = parser.add_mutually_exclusive_group()
where.add_argument(
    "--data-dir", help="a folder holding data/<table>.parquet (default: $EVALBOT_RESULTS_DIR)"
)
where.add_argument(
    "--dataset", help="the results dataset repo on the Hub (default: $EVALBOT_RESULTS_DATASET)"
)
parser.add_argument(
    "--revision",
    help="a branch or commit of the dataset (default: main; $EVALBOT_RESULTS_REVISION)",
)
parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
args = parser.parse_args()
log_to_stderr()
try:
    found = settings()
    if args.data_dir or args.dataset:
        found.update(data_dir=args.data_dir, dataset=args.dataset)
    if args.revision:
        found["revision"] = args.revision
    source = source_from(**found)
except SpaceError as exc:  # no dataset named, a folder that does not exist, a bad config file
    parser.error(str(exc))
serve(source, host=args.host, port=args.port)
