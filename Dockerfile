# syntax=docker/dockerfile:1
# wirestream worker image.
#
#   docker build -t wirestream:dev .
#   docker run --rm -e WIRESTREAM_BROKER=kafka://kafka:9092 wirestream:dev            # = wirestream worker
#   docker run --rm -v $PWD:/data wirestream:dev replay /data/stories.jsonl   # alerts as JSON lines
#
# Two stages: the builder resolves and installs the package with its runtime dependencies
# (and the RocksDB driver) into a virtualenv; the runtime stage copies only that virtualenv,
# so no pip cache, build tools or sources end up in the image.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/wirestream
ENV PATH=/opt/wirestream/bin:$PATH

WORKDIR /src
# Only what the wheel is built from (see .dockerignore).
COPY pyproject.toml README.md ./
COPY streams ./streams
RUN pip install --no-cache-dir ".[rocksdb]" \
    && python -m compileall -q /opt/wirestream/lib


FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="wirestream" \
      org.opencontainers.image.description="Stream processor for news wire feeds (Faust workers on Kafka)" \
      org.opencontainers.image.licenses="Apache-2.0"

ARG UID=10001
ARG GID=10001

# Unprivileged user; the data directory (RocksDB table stores) is the only place it writes,
# so the root filesystem can be mounted read-only (compose read_only, k8s readOnlyRootFilesystem).
RUN groupadd --system --gid "${GID}" wirestream \
    && useradd --system --uid "${UID}" --gid wirestream --home-dir /var/lib/wirestream \
       --no-create-home --shell /usr/sbin/nologin wirestream \
    && install -d -o wirestream -g wirestream -m 0750 /var/lib/wirestream

COPY --from=builder /opt/wirestream /opt/wirestream
COPY deploy/healthcheck.py /usr/local/lib/wirestream/healthcheck.py

ENV PATH=/opt/wirestream/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/wirestream \
    WIRESTREAM_STORE=rocksdb:// \
    WIRESTREAM_DATA_DIR=/var/lib/wirestream \
    WIRESTREAM_WEB_PORT=6066

WORKDIR /var/lib/wirestream
VOLUME ["/var/lib/wirestream"]
EXPOSE 6066

USER wirestream:wirestream

# Ready = the worker's HTTP API answers 200 on /health (script: deploy/healthcheck.py).
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=4 \
    CMD ["python", "/usr/local/lib/wirestream/healthcheck.py"]

# Faust commits offsets and flushes table state on SIGTERM.
STOPSIGNAL SIGTERM
ENTRYPOINT ["wirestream"]
CMD ["worker"]
