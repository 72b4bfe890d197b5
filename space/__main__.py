import argparse
import os

from space.app import serve

parser = argparse.ArgumentParser(prog="python -m space", description="Serve the evalbot Space.")
parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
args = parser.parse_args()
serve(host=args.host, port=args.port)
