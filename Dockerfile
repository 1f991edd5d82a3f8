# syntax=docker/dockerfile:1
#
# logveil container image: built with the Rust toolchain, run on Debian slim
# as a non-root user, config and pipelines under /etc/logveil.
#
#   docker build -t logveil:0.1.0 .
#   docker run --rm -e LOGVEIL_KEY_IDS="$(logveil keygen)" logveil:0.1.0 check     # start check
#   docker run --rm -p 9898:9898 -e LOGVEIL_KEY_IDS=... \
#       -e LOGVEIL_KAFKA__BROKERS=kafka-0:9092 logveil:0.1.0                        # the service
#
# Replace /etc/logveil (a ConfigMap or a volume) to use your own config and
# pipelines; LOGVEIL_* variables override single settings (README:
# "Configuration"). Keys come from LOGVEIL_KEY_<RING> or key files, never
# from the image.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
# librdkafka is built from the rdkafka crate's bundled source: the rust
# image already has the C toolchain, make and the zlib headers it needs.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cargo.toml declares the benches, so their sources must be present to build.
COPY benches/*.rs ./benches/
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin logveil \
 && install -D -m 0755 target/release/logveil /out/logveil

FROM debian:${DEBIAN_RELEASE}-slim
RUN groupadd --system --gid 10001 logveil \
 && useradd --system --uid 10001 --gid logveil --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin logveil
COPY --from=build /out/logveil /usr/local/bin/logveil
COPY config/logveil.toml /etc/logveil/logveil.toml
COPY pipelines/ /etc/logveil/pipelines/
# The shipped config with the image's layout: pipelines beside it, and
# /metrics, /healthz, /readyz reachable from outside the container.
# (tests/container.rs applies these same expressions and runs `check`.)
RUN sed -i \
        -e 's|^pipelines_dir = .*|pipelines_dir = "pipelines"|' \
        -e 's|^http_listen = .*|http_listen = "0.0.0.0:9898"  # /metrics, /healthz, /readyz|' \
        /etc/logveil/logveil.toml
ENV LOGVEIL_CONFIG=/etc/logveil/logveil.toml
USER 10001:10001
WORKDIR /etc/logveil
EXPOSE 9898
ENTRYPOINT ["/usr/local/bin/logveil"]
CMD ["run"]
