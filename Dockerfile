# chatd in a container.  docs/deployment.md has the commands:
#   docker build -t chatd .
#   docker run -p 8000:8000 -e REDIS_URL=redis://redis:6379 chatd

# --- build: the same scripts as CI and a developer's machine -----------------
# Debian 12 (bookworm) with Node.js 20, as on CI's and the developers'
# machines (Debian 12's own nodejs 18 would do too).  scripts/deps.sh keeps
# the node it finds and adds Debian's packages.
FROM node:20-bookworm-slim AS build
WORKDIR /src
# The packages first, in a layer of their own, so a source change does not
# install them again.
COPY scripts/deps.sh scripts/
RUN scripts/deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# `make install` lays out what the runtime image copies: the same paths as on
# a host (bin/chatd, share/chatd/web, the man page, the units).
RUN make && make install DESTDIR=/staging PREFIX=/usr/local

# --- runtime: the binary, the web app and their shared libraries -------------
FROM debian:12-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -qq -y --no-install-recommends \
        libmicrohttpd12 libwslay1 libhiredis0.14 libcjson1 libsodium23 \
        libcrypt1 libnettle8 libunistring2 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin chatd
COPY --from=build /staging/usr/local/ /usr/local/

# Every setting can be overridden with `docker run -e`.  REDIS_URL names a
# Redis container or service called "redis"; SEED_DEMO=1 brings back the demo
# users (with their published password), for a demo only.
ENV PORT=8000 \
    BIND=0.0.0.0 \
    REDIS_URL=redis://redis:6379 \
    WEB_ROOT=/usr/local/share/chatd/web \
    SEED_DEMO=0

# Numeric, so that runtimes checking runAsNonRoot can tell it is not root.
USER 10001:10001
EXPOSE 8000
# chatd closes connections cleanly on SIGTERM; give it `docker stop -t 15`.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT}/healthz" || exit 1
ENTRYPOINT ["/usr/local/bin/chatd"]
