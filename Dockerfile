# One image for every helpdesk process; each Deployment / compose service picks its command:
#   helpdesk-intake serve | helpdesk-intake relay | helpdesk-intake smtp | helpdesk-query serve
#   helpdesk-sla serve    | helpdesk-notify serve
#   helpdesk-migrate (once per release, before them, as the database owner: a Job / compose's `migrate`)
# Build: docker build -t helpdesk:dev .      (devstack/ is dev-only and never installed here)
# Base images are pinned by exact tag; no digest is pinned because none could be read from
# the registry where this file is checked (never guess one). To pin it, for the tag below:
#   docker buildx imagetools inspect python:3.12.12-slim-bookworm --format '{{json .Manifest.Digest}}'
# and write FROM python:3.12.12-slim-bookworm@sha256:<digest> in both stages.
# Checked by hadolint in the test suite (tests/deploy/test_platform_tools.py).

# --- build: a virtualenv with shared + the five services, installed non-editable ---------
FROM python:3.12.12-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Third-party packages from the lock only (pinned, hash-checked; `make lock` renews it), in a
# layer of their own so a code change does not reinstall them.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/runtime.txt
# Only the distributions go in; tests, bench, devstack and docs stay out of the image.
COPY shared/ shared/
COPY services/ services/
RUN pip install --no-cache-dir --no-deps --no-build-isolation \
        ./shared ./services/intake ./services/query ./services/sla ./services/notify ./services/portal \
 && pip check \
 && helpdesk-intake --help >/dev/null && helpdesk-query --help >/dev/null \
 && helpdesk-sla --help >/dev/null && helpdesk-notify --help >/dev/null \
 && helpdesk-migrate --help >/dev/null

# --- runtime: the virtualenv only, as a non-root user, on a read-only root filesystem ------
# Nothing writes outside /tmp (HELPDESK_DATA_DIR; compose and Kubernetes mount it writable and
# the rest read-only), and no bytecode is written at run time: pip compiled it at install.
FROM python:3.12.12-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 helpdesk \
 && useradd --system --uid 10001 --gid helpdesk --home-dir /home/helpdesk --create-home \
        --shell /usr/sbin/nologin helpdesk
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HELPDESK_BIND_HOST=0.0.0.0 \
    HELPDESK_DATA_DIR=/tmp/helpdesk
WORKDIR /home/helpdesk
# Numeric so Kubernetes can verify runAsNonRoot.
USER 10001:10001
EXPOSE 8001 8002 8003 8004 8005 2526
# One check for every process: it finds the helpdesk process in the container and asks what
# that one serves (GET /healthz, or a TCP connect for `smtp`; the relay: alive while running).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "helpdesk_shared.healthcheck"]
# No service by default: say how to pick one. Deployments and compose set `command:`.
CMD ["sh", "-c", "echo 'Run one of: helpdesk-intake serve | helpdesk-intake relay | helpdesk-intake smtp | helpdesk-query serve | helpdesk-sla serve | helpdesk-notify serve' >&2; exit 64"]
