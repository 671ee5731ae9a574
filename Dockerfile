# saldo's image: every binary (consumer_service, producer, producer_interactive, saldo_admin) on a
# slim Debian 12 with only the runtime libraries. Used by docker-compose.yml; no .env or secrets inside
# (configuration comes from the environment, see .dockerignore).
#
#   docker build -t saldo:local .
#   docker run --rm -p 127.0.0.1:5000:5000 -e BOOTSTRAP_SERVERS=host:9092 saldo:local

# ---- builder: the -dev packages of scripts/install-deps.sh that the binaries need (no tests, no bench)
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      librdkafka-dev libcpp-httplib-dev nlohmann-json3-dev libpq-dev libspdlog-dev liblz4-dev \
      libboost-program-options-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY common common
COPY producer producer
COPY consumer_service consumer_service
COPY tools tools
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSALDO_BUILD_TESTS=OFF -DSALDO_BUILD_BENCH=OFF \
 && cmake --build /build \
 && install -D -m 0755 -t /out /build/consumer_service/consumer_service /build/producer/producer \
      /build/producer/producer_interactive /build/tools/saldo_admin \
 && strip /out/*

# ---- runtime: the shared libraries the binaries link, curl for the health check, nothing else
FROM debian:12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libcpp-httplib0.11 libpq5 libspdlog1.10 libboost-program-options1.74.0 libfmt9 libssl3 liblz4-1 \
      curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 saldo \
 && useradd --system --uid 10001 --gid saldo --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin saldo \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/saldo
COPY --from=build /out/ /usr/local/bin/
# /var/lib/saldo: where compose mounts the state directory (STATE_DIR). A named volume starts as a copy
# of the image's directory, owner included, so the unprivileged user can write its snapshot there.
# An empty working directory: the binaries would read ./.env, and there is none on purpose.
WORKDIR /app
USER 10001:10001
ENV HTTP_HOST=0.0.0.0 HTTP_PORT=5000
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${HTTP_PORT}/health" || exit 1
CMD ["consumer_service"]
