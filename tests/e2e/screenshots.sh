#!/usr/bin/env bash
# Retakes the README's screenshots from the real app, through the browser tests (run it after
# changing the UI and commit the pictures it writes to tests/e2e/screenshots/).
set -euo pipefail
cd "$(dirname "$0")/../.."
shots=$(mktemp -d)
trap 'rm -rf "$shots"' EXIT
E2E_SCREENSHOTS="$shots" cargo test --test e2e
mkdir -p tests/e2e/screenshots
for name in 1280-webhooks 1-create-form 4-send-test 1280-deliveries 390-deliveries 390-webhooks-id dark-deliveries 1280-api-reference portal-in-dashboard; do
    cp "$shots/$name.png" tests/e2e/screenshots/
done
ls -l tests/e2e/screenshots
