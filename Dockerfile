# syntax=docker/dockerfile:1
# One image for every process of the Spiris operator: the operator (`spiris-operator`, the default command), the
# web component (`spiris-web`) and the sync worker (`spiris-sync`, run by the operator's Jobs). The chart selects the
# process with the container `command`. Runs as a numeric non-root user on a read-only root filesystem: nothing is
# written outside /tmp (mount an emptyDir there).
#
# CI builds it with podman on a base made from Debian's packages (dev/image/build.sh passes PYTHON_IMAGE; the
# machine's own settings stay in that script) and tests/image checks what the built image holds; tests/packaging
# checks that every path it copies exists and every command it names is a console script in pyproject.toml.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/spiris
WORKDIR /src
COPY pyproject.toml ./
# The dependencies first, from pyproject.toml alone: this layer is reused until they change, so a source edit
# rebuilds in seconds instead of downloading everything again.
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
      > /tmp/requirements.txt \
    && /opt/spiris/bin/pip install -r /tmp/requirements.txt
COPY README.md ./
COPY operator/ ./operator/
COPY web/ ./web/
# A regular (non-editable) install: the runtime stage needs the venv only, not the sources. pip compiles the
# bytecode here, so nothing has to be written at runtime. The installer itself is then removed: nothing installs
# anything at runtime.
RUN /opt/spiris/bin/pip install . \
    && /opt/spiris/bin/pip uninstall -y -q pip setuptools \
    && rm -f /opt/spiris/bin/activate* /opt/spiris/bin/Activate.ps1

FROM ${PYTHON_IMAGE} AS runtime
# A global ARG is visible inside a stage only when declared again there.
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="spiris-operator" \
      org.opencontainers.image.description="Kubernetes operator that syncs Spiris (Visma eEkonomi) ledgers and voucher documents into Postgres and S3; also the consent web component and the sync worker." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.vendor="Senseworks" \
      org.opencontainers.image.licenses="LicenseRef-Proprietary" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
RUN groupadd --system --gid 10001 spiris \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin spiris
COPY --from=builder /opt/spiris /opt/spiris
ENV PATH=/opt/spiris/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080 9090
CMD ["spiris-operator"]
