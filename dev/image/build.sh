#!/usr/bin/env bash
# Build the product image (the repository's Dockerfile) with podman on this machine, and tag it
# localhost/spiris-operator:dev. Prints the image reference on the last line of stdout; progress goes to stderr.
#
# No registry is reachable here, so the base is made locally: `debootstrap --variant=minbase bookworm`, imported
# into podman, plus base.Containerfile (python3, venv, CA bundle); it is passed as the Dockerfile's PYTHON_IMAGE.
# The machine's settings live here, never in the Dockerfile: podman's defaults fail on these machines (crun refuses
# the hybrid cgroup setup; raising hard rlimits is forbidden), so every build and run uses the runc runtime, the host
# network and explicit ulimits; pip inside the build trusts the machine's CA bundle through a pip.conf mounted for
# the build only (nothing of it stays in the image).
#
# Both the base and the image are cached in podman's storage (outside the checkout) under tags keyed by their
# inputs: the base by this script's base recipe, the image by the base and every file of the build context. A warm
# run only re-tags. SPIRIS_IMAGE_TAG overrides the tag; SPIRIS_IMAGE_CACHE the folder of the base's root filesystem.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tag=${SPIRIS_IMAGE_TAG:-localhost/spiris-operator:dev}
cache_root=${SPIRIS_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spiris-image}
# The local-machine flags (see the comment above); dev/spiris_localstack/pod_container.py runs pods with the same.
podman_global=(--runtime runc)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
log() { echo "image: $*" >&2; }
mkdir -p "$cache_root"

for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || { log "$tool is missing: run \`make system-deps\` (apt: podman runc debootstrap)"; exit 1; }
done
podman() { command podman "${podman_global[@]}" "$@"; }
exists() { podman image exists "$1" 2>/dev/null; }

# --- the base: Debian bookworm minbase + python3
# The recipe: what debootstrap makes and what is stripped from it before import (downloaded .debs, apt lists, docs).
suite=bookworm
mirror=http://deb.debian.org/debian
strip=(var/cache/apt/archives/*.deb var/lib/apt/lists/* usr/share/doc/* usr/share/man/* usr/share/locale/* usr/share/info/*)
base_key=$( (cat "$here/base.Containerfile"; echo "$suite minbase $mirror ${strip[*]}"; dpkg-query -W -f='${Version}' debootstrap) \
  | sha256sum | cut -c1-16)
base="localhost/spiris-python-base:$base_key"
if exists "$base"; then
  log "base cached ($base)"
else
  start=$(date +%s)
  rootfs_image="localhost/debian-bookworm-minbase:$base_key"
  if ! exists "$rootfs_image"; then
    tarball="$cache_root/$suite-minbase-$base_key.tar"
    if [ ! -s "$tarball" ]; then
      mkdir -p "$cache_root"
      work=$(mktemp -d "$cache_root/debootstrap.XXXXXX")
      trap 'rm -rf "$work"' EXIT
      log "debootstrap --variant=minbase $suite (about 30 s)"
      debootstrap --variant=minbase "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
      (cd "$work/root" && for pattern in "${strip[@]}"; do rm -rf $pattern; done)
      tar -C "$work/root" -cf "$tarball.tmp" .
      mv "$tarball.tmp" "$tarball"
      rm -rf "$work"
      trap - EXIT
    fi
    podman import -q "$tarball" "$rootfs_image" >/dev/null 2>&1 || podman import "$tarball" "$rootfs_image" >/dev/null
  fi
  log "base: python3 from Debian's packages"
  podman build -q "${limits[@]}" --network=host --build-arg "ROOTFS_IMAGE=$rootfs_image" \
    -f "$here/base.Containerfile" -t "$base" "$here" >/dev/null 2>"$cache_root/base-build.log" \
    || { tail -n 20 "$cache_root/base-build.log" >&2; exit 1; }
  podman rmi "$rootfs_image" >/dev/null 2>&1 || true
  log "base built in $(( $(date +%s) - start )) s ($base)"
fi

# --- the image: keyed by the base and every file of the build context the Dockerfile can see
cd "$repo"
context_files=$( { echo Dockerfile; echo .dockerignore; echo pyproject.toml; echo README.md;
  git ls-files --cached --others --exclude-standard -- operator web; } | sort -u \
  | grep -v -E '(__pycache__|\.pyc$|\.egg-info/)' )
image_key=$( (echo "$base_key"; while read -r f; do [ -f "$f" ] && { echo "$f"; sha256sum < "$f"; }; done <<<"$context_files") \
  | sha256sum | cut -c1-16)
keyed="localhost/spiris-operator:build-$image_key"
if exists "$keyed"; then
  log "image cached ($keyed)"
else
  start=$(date +%s)
  pipconf=$(mktemp)
  trap 'rm -f "$pipconf"' EXIT
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$pipconf"
  chmod 644 "$pipconf"
  log "building the Dockerfile on $base (about a minute cold)"
  buildlog="$cache_root/build.log"
  mkdir -p "$cache_root"
  if ! podman build "${limits[@]}" --network=host --layers \
      -v /etc/ssl/certs:/etc/ssl/certs:ro -v "$pipconf:/etc/pip.conf:ro" \
      --build-arg "PYTHON_IMAGE=$base" -f Dockerfile -t "$keyed" . >"$buildlog" 2>&1; then
    tail -n 30 "$buildlog" >&2
    exit 1
  fi
  log "image built in $(( $(date +%s) - start )) s"
fi
podman tag "$keyed" "$tag"
# Older builds go (their layers stay while the build cache uses them); one in use by a container stays too.
podman images --format '{{.Repository}}:{{.Tag}}' --filter reference=localhost/spiris-operator \
  | grep ':build-' | grep -v -x -F "$keyed" | xargs -r podman rmi >/dev/null 2>&1 || true
size=$(podman image inspect --format '{{.Size}}' "$keyed")
log "$tag = $keyed, $(( size / 1000000 )) MB"
echo "$tag"
