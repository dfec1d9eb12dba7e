#!/bin/sh
# Rebuilds src/segmento/report/static/plotly.min.js: plotly.js with only the traces the
# dashboard and the report draw (scatter, bar, heatmap, sankey): 1.3 MB instead of 4.8 MB,
# so that the self-contained report stays small and pages parse it fast. Needs node and npm.
set -e
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
cp "$here/entry.js" "$work/"
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts plotly.js@4.1.1 esbuild@0.25.12 >/dev/null
{
  printf '/* plotly.js v4.1.1 (MIT, Copyright 2012-2026 Plotly, Inc.): core, bar, heatmap, sankey. Built by tools/plotly/build.sh */\n'
  npx esbuild entry.js --bundle --minify --format=iife --global-name=Plotly --define:global=window --log-level=warning
} > "$here/../../src/segmento/report/static/plotly.min.js"
rm -rf "$work"
