#!/bin/sh
# Copy the CRDs (source of truth: crds/) into the Helm chart, which must carry byte-identical copies
# (tests/packaging/test_chart_crds.py enforces it). Run from anywhere: ./charts/sync-crds.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
rm -f "$root"/charts/spiris-operator/crds/*.yaml
cp "$root"/crds/*.yaml "$root"/charts/spiris-operator/crds/
echo "synced: $(ls "$root"/charts/spiris-operator/crds)"
