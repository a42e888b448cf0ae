# Dockerfile -- the passthrough container image: `docker build -t passthrough .`
# (or podman / buildah). README.md "The container image" says what it holds;
# docs/kubernetes.md and etc/kubernetes/ run it in a pod.
#
# Two stages on debian:12-slim: "build" compiles and installs into /out;
# the runtime stage gets the runtime libraries, a user, the three binaries
# and the pod's configuration, nothing else (no compiler, no headers, no shell
# needed at run time). tools/image-check.sh (`make image-check`) builds the
# runtime stage's root file system from Debian packages without a container
# engine and serves TLS through it: it reads this file's runtime stage
# (RUNTIME_PACKAGES, the RUN, COPY, ENV, USER, EXPOSE, ENTRYPOINT and CMD
# lines) and refuses an instruction it does not know, so keep that stage to
# those instructions.

FROM debian:12-slim AS build
# tools/deps.sh's "build" list without libcriterion-dev (the unit tests are
# make test's, not the image's); clang and libbpf-dev build the kernel relay.
# libjansson-dev, libyaml-dev and libcurl4-openssl-dev build
# passthrough-gateway (make all).
ARG BUILD_PACKAGES="gcc make libc6-dev libconfig-dev liburing-dev clang libbpf-dev libjansson-dev libyaml-dev libcurl4-openssl-dev"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $BUILD_PACKAGES \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# PREFIX=/usr at build time too: the binaries' default configuration is then
# /etc/passthrough/passthrough.conf (passthrough -t, passthrough-stats).
RUN make -j"$(nproc)" WERROR=1 PREFIX=/usr \
 && make install PREFIX=/usr DESTDIR=/out NOBUILD=1

# The runtime stage. Only the three binaries come from /out: the systemd
# unit, the logrotate file, the man pages, the dashboards and the example
# configuration stay behind (nothing in a container uses them).
FROM debian:12-slim
# The shared libraries the binaries link (ldd): libconfig, liburing and
# libbpf (which brings libelf1 and zlib1g); passthrough-stats needs only
# libc; passthrough-gateway (the Gateway API controller, a second container
# of the pod: etc/kubernetes/gateway) libconfig, libjansson, libyaml and
# libcurl (libcurl4: the OpenSSL flavour libcurl4-openssl-dev links; no
# ca-certificates: the API server's CA is the service account's ca.crt).
ARG RUNTIME_PACKAGES="libconfig9 liburing2 libbpf1 libjansson4 libyaml-0-2 libcurl4"
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="passthrough" \
      org.opencontainers.image.description="TLS passthrough proxy: routes TLS connections by SNI without terminating them" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.base.name="docker.io/library/debian:12-slim"
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $RUNTIME_PACKAGES \
 && rm -rf /var/lib/apt/lists/*
# The user passthrough (uid and gid 10001: numeric, so a pod's runAsNonRoot
# can verify it), no home, no shell; /run/passthrough is its
# XDG_RUNTIME_DIR, where a master that is not root keeps its lock (a pod
# mounts an emptyDir there over a read-only root file system).
RUN groupadd --gid 10001 passthrough \
 && useradd --no-log-init --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin passthrough \
 && install -d -o 10001 -g 10001 -m 0700 /run/passthrough
COPY --from=build /out/usr/sbin/passthrough /usr/sbin/passthrough
COPY --from=build /out/usr/bin/passthrough-stats /usr/bin/passthrough-stats
COPY --from=build /out/usr/bin/passthrough-gateway /usr/bin/passthrough-gateway
COPY etc/kubernetes/passthrough.conf /etc/passthrough/passthrough.conf
ENV XDG_RUNTIME_DIR=/run/passthrough
USER 10001:10001
# 8443: the listener (unprivileged: no capability needed); 9100: the
# metrics sidecar's `passthrough-stats --serve "*:9100"`, same image (so is
# the gateway controller's `passthrough-gateway watch`, which serves no port).
EXPOSE 8443 9100
ENTRYPOINT ["/usr/sbin/passthrough", "-f"]
CMD ["-c", "/etc/passthrough/passthrough.conf"]
