#!/usr/bin/env bash
# Build the local control plane (kubeplane) once and cache it outside the checkout, keyed by its inputs
# (go.mod, go.sum, the Go sources, the Go toolchain). Prints the binary's path on the last line of stdout.
# A cold build on a 2-core machine takes several minutes: progress goes to stderr as packages compile.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The machines install Go in /usr/local/go; a login shell may not have it on PATH.
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
cache_root=${SPIRIS_KUBEPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spiris-kubeplane}
k8s_version=$(cat "$here/KUBERNETES_VERSION")
command -v go >/dev/null 2>&1 || { echo "kubeplane: Go is not installed (the machines have Go 1.26 in /usr/local/go)" >&2; exit 1; }
key=$( (cat "$here/go.mod" "$here/go.sum" "$here"/*.go; go version) | sha256sum | cut -c1-16)
out="$cache_root/$key"
if [ -x "$out/kubeplane" ]; then
  echo "kubeplane: cached $out/kubeplane" >&2
  echo "$out/kubeplane"
  exit 0
fi
mkdir -p "$out"
major=${k8s_version#v}; major=${major%%.*}
minor=${k8s_version#v*.}; minor=${minor%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
echo "kubeplane: building Kubernetes $k8s_version control plane (etcd, kube-apiserver, kube-controller-manager, kubectl)" >&2
echo "kubeplane: a cold build takes about 4 minutes on 2 cores (3 GB of Go build cache); it is cached in $out" >&2
start=$(date +%s)
cd "$here"
go mod download
# -v names each package as it compiles: the visible progress of a long build. The full output is kept in the cache
# folder, and its tail is shown if the build fails.
total=$(go list -deps . | wc -l)
log="$out/build.log"
set +e
go build -v -trimpath -ldflags "$ldflags" -o "$out/kubeplane.tmp" . 2>&1 | tee "$log" \
  | awk -v total="$total" '{ n++; if (n % 100 == 0) { printf "kubeplane: compiled %d/%d packages\n", n, total > "/dev/stderr"; fflush("/dev/stderr") } }'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "kubeplane: build failed ($status); the end of $log:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
mv "$out/kubeplane.tmp" "$out/kubeplane"
echo "kubeplane: built in $(( $(date +%s) - start )) s, $(du -h "$out/kubeplane" | cut -f1)" >&2
echo "$out/kubeplane"
