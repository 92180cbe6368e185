# netsig image. Build stage: libpcap-dev, so the cap addon and native/pktstats
# (the kernel's drop count) compile; runtime stage: libpcap only.
#
#   docker build -t netsig:0.1.0 .
#   docker run --rm --network host --cap-drop ALL --cap-add NET_RAW --cap-add NET_ADMIN \
#     -v "$PWD/sigs:/etc/netsig/signatures:ro" netsig:0.1.0 run --iface eth0 --signatures /etc/netsig/signatures
#
# Capture opens a packet socket: that needs CAP_NET_RAW (and CAP_NET_ADMIN for
# the kernel buffer size), which a non-root user gets only through file
# capabilities. So the process runs as uid 0 inside the container, and the
# container is given those two capabilities and no others (see README,
# "Running in Docker"). `replay` needs none: docker run --cap-drop ALL works.

FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# node-gyp (cap, native/pktstats) builds against this node's own headers: no download
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json tsconfig.json ./
COPY engine engine
COPY signatures signatures
COPY native native
# npm ci runs the `prepare` script: npm run build (tsc) and npm run native (pktstats).
# Both native parts must have built: without them the image could not capture.
RUN npm ci \
 && test -f node_modules/cap/build/Release/cap.node \
 && test -f native/pktstats/build/Release/pktstats.node \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpcap0.8 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/netsig
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist/engine dist/engine
COPY --from=build /src/signatures signatures
COPY --from=build /src/native/pktstats/build/Release/pktstats.node native/pktstats/build/Release/pktstats.node
RUN chmod +x dist/engine/cli/main.js \
 && ln -s /opt/netsig/dist/engine/cli/main.js /usr/local/bin/netsig \
 && mkdir -p /etc/netsig/signatures /var/lib/netsig /var/log/netsig
# the webhook spool (default ./netsig-spool) lands here: mount a volume to keep it
WORKDIR /var/lib/netsig
ENTRYPOINT ["netsig"]
CMD ["--help"]
