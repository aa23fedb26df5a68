# syntax=docker/dockerfile:1.6
# drp: nginx + the drp-fcgi pool in one image.
#
#   docker build -t drp .
#   docker run --read-only --tmpfs /run/drp --tmpfs /tmp \
#       -e DRP_TOKEN="$(openssl rand -hex 32)" -p 127.0.0.1:8077:8077 drp
#
# Configuration: DRP_* / PYZOR_* / RAZOR_* / DCC_* environment variables, or
# a file mounted at /etc/drp/drp.conf; the token from DRP_TOKEN or a secret
# file at /run/secrets/drp_token (DRP_TOKEN_FILE).  State that must survive
# (razorhome identities, DCC ids, pyzor accounts) belongs in a volume at
# /var/lib/drp.

FROM debian:12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config \
      libfcgi-dev libssl-dev libhiredis-dev libmemcached-dev libjson-c-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" all \
 && make install DESTDIR=/out PREFIX=/usr

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx-light libssl3 libfcgi0ldbl \
      libhiredis0.14 libmemcached11 libjson-c5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \
 && useradd --system --home-dir /var/lib/drp --shell /usr/sbin/nologin drp \
 && install -d -o drp -g drp -m 0700 /var/lib/drp /run/drp \
 && install -d -m 0755 /etc/drp
COPY --from=build /out/usr/bin/drp /usr/bin/drp
COPY --from=build /out/usr/sbin/ /usr/sbin/
COPY nginx/docker-nginx.conf /etc/nginx/nginx.conf
COPY nginx/drp-locations.conf /etc/nginx/drp-locations.conf
COPY --chmod=0755 <<'SH' /usr/local/bin/drp-container
#!/bin/bash
# Start the pool and nginx; stop both (the pool drains) on SIGTERM; exit
# when either dies so the orchestrator restarts the container.
set -u
: "${DRP_TOKEN_FILE:=/run/secrets/drp_token}"
if [ -r "$DRP_TOKEN_FILE" ]; then export DRP_TOKEN_FILE; else unset DRP_TOKEN_FILE; fi
if [ -z "${DRP_TOKEN:-}" ] && [ -z "${DRP_TOKEN_FILE:-}" ]; then
	echo "drp: no token (DRP_TOKEN or /run/secrets/drp_token): every POST answers 503" >&2
fi
export DRP_RUN_DIR=/run/drp
/usr/sbin/drp-fcgi --listen unix:/run/drp/drp.sock --socket-mode 0660 \
	--workers "${DRP_WORKERS:-2}" &
pool=$!
for _ in $(seq 50); do [ -S /run/drp/drp.sock ] && break; sleep 0.1; done
nginx -g 'daemon off;' &
web=$!
trap 'kill -TERM "$web" "$pool" 2>/dev/null' TERM INT
wait -n "$pool" "$web"
rc=$?
kill -TERM "$web" "$pool" 2>/dev/null
wait
exit "$rc"
SH
USER drp
WORKDIR /var/lib/drp
EXPOSE 8077
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/sbin/drp-fcgi", "--probe", "--listen", "unix:/run/drp/drp.sock"]
ENTRYPOINT ["/usr/local/bin/drp-container"]
