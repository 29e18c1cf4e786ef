# The `omron` binary in a slim Debian image, for running a miner or a validator (see
# docs/install.md and docker-compose.yml).
#
#   docker build -t omron .
#   docker run --rm omron --version
#   docker run -d -p 8091:8091 -e PUID=$(id -u) -e PGID=$(id -g) \
#     -v ~/.bittensor/wallets:/home/omron/.bittensor/wallets:ro \
#     omron miner --wallet.name miner --wallet.hotkey default --axon.external_ip 203.0.113.7
#
# The cache mounts below need BuildKit (Docker's default builder since 23.0) or podman/buildah.
# The base images are build arguments so that a mirror (or a locally built stand-in, as
# scripts/check-deploy.sh does where Docker Hub is unreachable) can be named instead. The Rust
# image's version must stay equal to rust-toolchain.toml's channel: crates/cli/tests/deploy_files.rs
# checks it.
ARG RUST_IMAGE=docker.io/library/rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
# The build needs only a C compiler (bundled SQLite, ring), which the slim Rust image has.
# RUSTUP_TOOLCHAIN names the image's own toolchain, so rustup does not fetch the clippy and
# rustfmt components that rust-toolchain.toml lists for developers.
ENV RUSTUP_TOOLCHAIN=1.95.0 \
    CARGO_TERM_COLOR=never
WORKDIR /src
COPY . .
# The cache mounts keep the registry and the build folder between image builds; the binary
# is copied out of the cached target folder in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p omron-cli \
    && install -m 0755 target/release/omron /usr/local/bin/omron

FROM ${RUNTIME_IMAGE}
# ca-certificates: the chain client (wss://) checks certificates against the system store.
# curl: the health check. setpriv (util-linux) and usermod/groupmod (passwd) are in the base.
# Not version-pinned: the suite's security updates replace old versions in the archive, so a
# pin would break the build instead of keeping it reproducible.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# uid/gid 1000 by default; the entrypoint moves them to PUID/PGID at start when given, so files
# written to mounted folders belong to the host user.
RUN groupadd --gid 1000 omron \
    && useradd --uid 1000 --gid omron --home-dir /home/omron --create-home \
        --shell /usr/sbin/nologin omron \
    && mkdir -p /home/omron/.bittensor/wallets /var/lib/omron \
    && chown -R omron:omron /home/omron /var/lib/omron
COPY --from=build /usr/local/bin/omron /usr/local/bin/omron
COPY deploy/docker/entrypoint.sh /usr/local/bin/omron-entrypoint
COPY deploy/docker/healthcheck.sh /usr/local/bin/omron-healthcheck
# The circuits are found in the working directory (`circuits/`), as in a clone.
COPY circuits /opt/omron/circuits
WORKDIR /opt/omron
ENV HOME=/home/omron \
    OMRON_HEALTH_PORT=
# Wallets (the hotkey is read from ~/.bittensor/wallets) and node state (the validator's
# SQLite store and certificate: pass --state /var/lib/omron/validator).
VOLUME ["/home/omron/.bittensor", "/var/lib/omron"]
# Axon, the validator's external API, and the metrics exporter (--prometheus.port).
EXPOSE 8091 8443 9090
# GET /health on the exporter whose port OMRON_HEALTH_PORT names (the miner answers 503 while
# its hotkey is not registered); healthy when no exporter is configured.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/omron-healthcheck"]
ENTRYPOINT ["/usr/local/bin/omron-entrypoint"]
CMD ["--help"]
