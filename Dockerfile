# The same install steps as `make install` (README), then the bot: the timer and one worker.
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends make git && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt pyproject.toml Makefile README.md ./
COPY bot bot
COPY evaluators evaluators
COPY perturbations perturbations
COPY store store
COPY cardgen cardgen
COPY space space
COPY sandbox sandbox
COPY config config
RUN make install PY=python3.11
ENV EVALBOT_CONFIG=/app/config
ENTRYPOINT [".venv/bin/evalbot"]
CMD ["serve", "--with-worker"]
