# netsig image (docs/container.md). Build stage: libpcap-dev and a C++
# toolchain, so the cap addon and native/pktstats (the kernel's drop count)
# compile; runtime stage: libpcap only.
#
#   docker build -t netsig:0.1.0 .
#   deploy/build-image.sh localhost/netsig:0.1.0    # podman, no Docker, a local Debian base
#   docker run --rm --network host --cap-drop ALL --cap-add NET_RAW --cap-add NET_ADMIN \
#     --cap-add SETUID --cap-add SETGID --security-opt no-new-privileges --read-only \
#     -v "$PWD/sigs:/etc/netsig/signatures:ro" netsig:0.1.0 run --iface eth0 --signatures /etc/netsig/signatures
#
# Capture opens a packet socket: that needs CAP_NET_RAW (and CAP_NET_ADMIN for
# the kernel buffer size), which a non-root user gets only through file
# capabilities (and no_new_privs, which Kubernetes sets, ignores those). So
# the process runs as uid 0 inside the container with NET_RAW, NET_ADMIN, and
# SETUID/SETGID for the signature sandbox, which switches itself to nobody;
# no other capability. `replay` without signatures needs none.
#
# The two bases are build arguments: any Debian-based image with Node.js 20
# and npm (the build stage) and Node.js 20 (the runtime stage) of the same
# Debian release (the addons link the build stage's libpcap).
ARG BASE=node:20-bookworm
ARG RUNTIME_BASE=node:20-bookworm-slim

FROM ${BASE} AS build
# a CA bundle file for npm behind a TLS-intercepting proxy (deploy/build-image.sh
# mounts the host's for the build only; nothing of it reaches the image)
ARG NODE_EXTRA_CA_CERTS
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap-dev python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY engine engine
COPY signatures signatures
# the Tracee e2e test ports: npm run build type-checks them; they are examples
# for signature authors, not detections, and the runtime stage leaves them out
COPY examples/tracee-e2e examples/tracee-e2e
COPY native native
# npm ci runs the `install` script (native/build.js: pktstats) and `prepare`
# (npm run build: tsc, the rule schema's validators, the sandbox realm bundle).
# node-gyp builds against the base's own Node.js headers (/usr/local in the
# official node images, /usr in Debian's): nothing is downloaded but packages.
# Both native parts must have built: without them the image could not capture.
RUN if [ -f /usr/local/include/node/node_api.h ]; then export npm_config_nodedir=/usr/local; \
    elif [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; \
    else echo "the base image has no Node.js headers (node_api.h): install them (Debian: libnode-dev)" >&2; exit 1; fi \
 && npm ci --no-audit --no-fund \
 && test -f node_modules/cap/build/Release/cap.node \
 && test -f native/pktstats/build/Release/pktstats.node \
 && test -f dist/engine/sandbox/realm-bundle.json \
 && test -f dist/engine/rules/compile/schema-validators.js \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${RUNTIME_BASE}
# libpcap's runtime: libpcap0.8t64 from Debian trixie on, libpcap0.8 before;
# nothing to install when the base has it (the local trixie base does)
RUN if ldconfig -p | grep -q 'libpcap\.so\.0\.8 '; then echo "libpcap.so.0.8: in the base image"; else \
      apt-get update \
   && pkg=libpcap0.8t64 && { apt-cache show "$pkg" >/dev/null 2>&1 || pkg=libpcap0.8; } \
   && apt-get install -y --no-install-recommends "$pkg" \
   && rm -rf /var/lib/apt/lists/*; fi
WORKDIR /opt/netsig
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist/engine dist/engine
COPY --from=build /src/signatures signatures
COPY --from=build /src/native/pktstats/build/Release/pktstats.node native/pktstats/build/Release/pktstats.node
# the shipped rule pack (--rules @shipped)
COPY rules rules
# The image must run as it will be run: the sandbox's prebuilt realm is used
# (realm-bundle.json, checked against the compiled JavaScript: the image has no
# TypeScript sources), the addons load, the rule pack is valid and the
# signatures are there. Any failure stops the build here rather than at a
# user's start. (Running signatures is left to test/image.test.ts: a build
# step runs with the builder's capabilities, not the deployment's.)
RUN chmod +x dist/engine/cli/main.js \
 && ln -s /opt/netsig/dist/engine/cli/main.js /usr/local/bin/netsig \
 && node -e 'if (!require("/opt/netsig/dist/engine/sandbox/bundle.js").prebuiltBundle()) { console.error("the prebuilt sandbox realm does not match dist/engine: every start would bundle it again"); process.exit(1); }' \
 && node -e 'if (!require("/opt/netsig/dist/engine/sandbox/process-bundle.js").sandboxProcessCode().written) { console.error("the sandbox process scripts do not match dist/engine and node_modules: every start would bundle them again"); process.exit(1); }' \
 && node -e 'require("/opt/netsig/node_modules/cap"); process.dlopen({ exports: {} }, "/opt/netsig/native/pktstats/build/Release/pktstats.node")' \
 && netsig rules validate /opt/netsig/rules >/dev/null \
 && test -f signatures/dns-tunnel.ts \
 && mkdir -p /etc/netsig/signatures /var/lib/netsig /var/log/netsig
# the webhook spool (default ./netsig-spool) lands here: mount a volume to keep it
WORKDIR /var/lib/netsig
ENTRYPOINT ["netsig"]
CMD ["--help"]
