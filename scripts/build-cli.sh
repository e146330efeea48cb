#!/bin/sh
# The CLI's two start-up forms (see bin/wharf): dist/wharf.mjs, one ESM bundle, and
# dist/wharf.blob, a V8 start-up snapshot of the same code made with the Node that builds it.
# dist/wharf.blob.node links to that Node binary: the launcher uses the blob only with it.
set -eu
cd "$(dirname "$0")/.."
esbuild=node_modules/.bin/esbuild
common="--bundle --platform=node --target=node20 --log-level=warning"
$esbuild src/cli/main.ts $common --format=esm --outfile=dist/wharf.mjs
# The snapshot needs CommonJS; import.meta (empty there) is only read where a fallback exists.
$esbuild src/cli/snapshot.ts $common --format=cjs --outfile=dist/wharf-snapshot.cjs \
  --log-override:empty-import-meta=silent
rm -f dist/wharf.blob dist/wharf.blob.node
node --snapshot-blob dist/wharf.blob --build-snapshot dist/wharf-snapshot.cjs
ln -s "$(readlink -f "$(command -v node)")" dist/wharf.blob.node
