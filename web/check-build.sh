#!/usr/bin/env bash
# Rebuild the playground from its sources (npm ci + build, in a temporary copy) and fail if the
# result differs from the build committed in src/cargohold/web/. To update the committed build:
#   cd web && npm ci && npm run build
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shipped="$here/../src/cargohold/web"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Only the files the build reads (what git tracks under web/), never a local node_modules.
git -C "$here" ls-files -z . | (cd "$here" && xargs -0 cp --parents -t "$work")
cd "$work"
npm ci --no-audit --no-fund --loglevel=error
npx tsc --noEmit
npx vite build --logLevel error --outDir "$work/out" --emptyOutDir

if ! diff -r "$work/out" "$shipped"; then
  echo "web/check-build.sh: src/cargohold/web/ does not match web/ sources." >&2
  echo "Rebuild it: cd web && npm ci && npm run build, then commit src/cargohold/web/." >&2
  exit 1
fi
echo "web/check-build.sh: the shipped build matches the sources."
