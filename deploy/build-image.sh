#!/usr/bin/env bash
# deploy/build-image.sh TAG: build netsig's image (the repository's Dockerfile)
# with podman on a Debian machine without Docker, and tag it TAG.
#
#   sudo deploy/build-image.sh localhost/netsig:dev
#
# What it does, each step only when needed (it says so; running it again does
# nothing but the build, which podman's layer cache makes quick):
#  1. installs podman buildah runc debootstrap uidmap (apt);
#  2. writes /etc/containers/containers.conf when there is none (an existing
#     different one is left alone: the script prints what it would have set);
#  3. makes the base image localhost/debian-node:trixie when it is missing:
#     Debian trixie (minbase) with nodejs (20), npm, ca-certificates and
#     libpcap0.8t64, from the Debian mirror apt already uses on this machine;
#  4. podman build --build-arg BASE=... --build-arg RUNTIME_BASE=..., with the
#     host's CA bundle mounted read-only for npm (TLS-intercepting proxies),
#     which stays out of the image.
# Nothing is fetched but Debian packages and the npm registry's.
# See docs/container.md for why each of these is needed.
#
# Environment (all optional):
#   NETSIG_BASE_IMAGE    base for both stages (default localhost/debian-node:trixie;
#                        another name is used as it is, e.g. docker.io/library/node:20-bookworm)
#   NETSIG_DEBIAN_MIRROR Debian mirror for the base (default: the one apt uses here)
#   NETSIG_WRITE_CONTAINERS_CONF=1  replace a different /etc/containers/containers.conf
#                        (the old one is kept as containers.conf.netsig-bak)
set -euo pipefail

LOCAL_BASE="localhost/debian-node:trixie"
SUITE="trixie"
BASE_PACKAGES="nodejs,ca-certificates,libpcap0.8t64"
TOOLS=(podman buildah runc debootstrap uidmap)
CONF=/etc/containers/containers.conf
HOST_CA=/etc/ssl/certs/ca-certificates.crt

say() { printf 'build-image: %s\n' "$*"; }
die() { printf 'build-image: error: %s\n' "$*" >&2; exit 1; }

if [ $# -ne 1 ] || [ -z "$1" ] || [ "${1#-}" != "$1" ]; then
  echo "usage: deploy/build-image.sh TAG   (for example localhost/netsig:dev)" >&2
  exit 2
fi
TAG="$1"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE="${NETSIG_BASE_IMAGE:-$LOCAL_BASE}"

[ -f "$ROOT/Dockerfile" ] || die "no Dockerfile in $ROOT"
[ "$(id -u)" = 0 ] || die "run as root (sudo $0 $TAG): installing packages, debootstrap and podman's system storage need it"
command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian (see docs/container.md for docker build)"

# --- 1. tools -----------------------------------------------------------
missing=()
for p in "${TOOLS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || die "apt-get update failed"
  apt-get install -y -q --no-install-recommends "${missing[@]}" || die "apt-get install ${missing[*]} failed"
else
  say "tools present: ${TOOLS[*]}"
fi

# --- 2. containers.conf -------------------------------------------------
# podman's defaults fail on VMs like the CI's: it asks for 1048576 open files
# where the hard limit is lower (setrlimit EPERM), crun refuses a hybrid cgroup
# layout, and journald may be absent. runc, cgroupfs and these limits work.
WANT_CONF='# written by netsig deploy/build-image.sh (see docs/container.md)
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'
if [ ! -e "$CONF" ]; then
  say "writing $CONF (runc, cgroupfs, file events, ulimits within this machine's limits)"
  mkdir -p "$(dirname "$CONF")"
  printf '%s\n' "$WANT_CONF" >"$CONF"
elif [ "$(cat "$CONF")" = "$WANT_CONF" ]; then
  say "$CONF is already netsig's"
elif [ "${NETSIG_WRITE_CONTAINERS_CONF:-}" = 1 ]; then
  say "replacing $CONF (NETSIG_WRITE_CONTAINERS_CONF=1; the old one is $CONF.netsig-bak)"
  cp -p "$CONF" "$CONF.netsig-bak"
  printf '%s\n' "$WANT_CONF" >"$CONF"
else
  say "leaving your $CONF as it is. If podman fails below (setrlimit, cgroups), these settings fix it"
  say "(or run again with NETSIG_WRITE_CONTAINERS_CONF=1 to replace the file, keeping a backup):"
  printf '%s\n' "$WANT_CONF" | sed 's/^/    /'
fi

# --- 3. the base image --------------------------------------------------
# the Debian mirror apt uses here: deb822 .sources first, then sources.list
debian_mirror() {
  local codename f uri
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # stanzas separated by blank lines; the first whose Suites has the release itself (not -security, -updates)
    uri="$(awk -v rel="$codename" '
      BEGIN { RS = ""; FS = "\n" }
      {
        u = ""; ok = 0; deb = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); sub(/[ \t].*/, "", u) }
          if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
          if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == rel) ok = 1 }
        }
        if (deb && ok && u != "") { print u; exit }
      }' "$f")"
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri="$(awk -v rel="$codename" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } if ($(i + 1) == rel) { print $i; exit } }' "$f")"
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
}

if [ "$BASE" != "$LOCAL_BASE" ]; then
  say "base image: $BASE (NETSIG_BASE_IMAGE)"
elif podman image exists "$BASE"; then
  say "base image $BASE is present"
else
  MIRROR="${NETSIG_DEBIAN_MIRROR:-$(debian_mirror)}"
  [ -n "$MIRROR" ] || die "could not read the Debian mirror from /etc/apt/sources.list*: set NETSIG_DEBIAN_MIRROR=http://deb.debian.org/debian (or your mirror)"
  say "making the base image $BASE: debootstrap $SUITE from $MIRROR (a few minutes, once)"
  WORK="$(mktemp -d /var/tmp/netsig-base.XXXXXX)"
  ROOTFS="$WORK/rootfs"
  cleanup() {
    mountpoint -q "$ROOTFS/proc" 2>/dev/null && umount "$ROOTFS/proc"
    rm -rf "$WORK"
  }
  trap cleanup EXIT
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap $SUITE failed (log above)"; }
  # npm: debootstrap cannot resolve its dependencies, apt in the new system can.
  # (apt reaches the mirror over plain HTTP or with the system's own CAs; the
  # host's CA bundle is not copied into the image)
  mount -t proc proc "$ROOTFS/proc"
  chroot "$ROOTFS" env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends npm && apt-get clean && rm -rf /var/lib/apt/lists/*' \
    >"$WORK/npm.log" 2>&1 || { tail -n 20 "$WORK/npm.log" >&2; die "installing npm in the $SUITE base failed (log above)"; }
  umount "$ROOTFS/proc"
  say "base: $(chroot "$ROOTFS" node --version), npm $(chroot "$ROOTFS" npm --version 2>/dev/null)"
  tar -C "$ROOTFS" --numeric-owner -cf "$WORK/rootfs.tar" .
  podman import --change 'CMD ["node"]' "$WORK/rootfs.tar" "$BASE" >/dev/null || die "podman import failed"
  cleanup
  trap - EXIT
  say "base image $BASE made"
fi

# --- 4. the image -------------------------------------------------------
args=(build --network host --build-arg "BASE=$BASE" --build-arg "RUNTIME_BASE=$BASE" -t "$TAG" -f "$ROOT/Dockerfile")
if [ -s "$HOST_CA" ]; then
  # npm in the build trusts what this machine trusts (a proxy's CA, say)
  args+=(--volume "$HOST_CA:/run/netsig-host-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/netsig-host-ca.crt)
fi
say "podman ${args[*]} $ROOT"
podman "${args[@]}" "$ROOT" || die "podman build failed (output above)"
say "built $TAG"
