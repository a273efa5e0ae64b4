#!/usr/bin/env bash
# Installs what is missing, builds goforward and runs `goforward serve` on its embedded defaults
# (data in ./goforward-data, API on http://127.0.0.1:8080). Extra arguments go to serve.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh serve
mkdir -p bin
go build -o bin/goforward ./cmd/goforward
exec ./bin/goforward serve "$@"
