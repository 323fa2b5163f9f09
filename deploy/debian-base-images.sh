#!/usr/bin/env bash
# Builds the two base images deploy/Dockerfile takes, from Debian's archive alone, for machines
# that cannot pull from a container registry:
#   localhost/debian-node:trixie        minimal Debian 13 with Node.js 20 (runs the server)
#   localhost/debian-node-build:trixie  the same plus npm, python3, make, g++ and Node's headers
#                                       (builds better-sqlite3 when no prebuilt can be downloaded)
# Needs root, debootstrap and podman (apt-get install debootstrap podman).
#
#   deploy/debian-base-images.sh [WORKDIR]   (default /var/tmp/tessera-rootfs; removed after)
set -euo pipefail

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=${1:-/var/tmp/tessera-rootfs}
engine=${CONTAINER_ENGINE:-podman}
rm -rf "$work/base" "$work/build"
mkdir -p "$work"

debootstrap --variant=minbase --include=nodejs,ca-certificates trixie "$work/base" "$mirror"
chroot "$work/base" apt-get clean
tar -C "$work/base" -c . | "$engine" import --change 'CMD ["/bin/bash"]' - localhost/debian-node:trixie

# npm's dependency tree is too deep for debootstrap --include; apt inside the chroot resolves it.
cp -a "$work/base" "$work/build"
chroot "$work/build" sh -c 'apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm python3 make g++ libnode-dev &&
  apt-get clean'
# node-gyp finds Debian's Node headers (libnode-dev) here instead of downloading them.
echo 'nodedir=/usr' >>"$work/build/etc/npmrc"
tar -C "$work/build" -c . | "$engine" import --change 'CMD ["/bin/bash"]' - localhost/debian-node-build:trixie

rm -rf "$work/base" "$work/build"
"$engine" run --rm ${CONTAINER_RUN_ARGS:-} localhost/debian-node:trixie node --version
