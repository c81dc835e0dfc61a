#!/usr/bin/env bash
# Copies the API reference's renderer (swagger-ui-dist, pinned in package.json and
# package-lock.json here) into static/vendor/swagger-ui, which the binary embeds. Run after
# changing its version; tests/it/reference.rs fails while the copy differs from the package.
#
#   npm ci --prefix tests/npm --ignore-scripts && bash tests/npm/vendor.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
from="$repo/tests/npm/node_modules/swagger-ui-dist"
to="$repo/static/vendor/swagger-ui"
mkdir -p "$to"
for file in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE; do
    cp "$from/$file" "$to/$file"
done
echo "copied swagger-ui-dist $(node -p "require('$from/package.json').version") to $to"
