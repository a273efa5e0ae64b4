#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, checks formatting, vet and
# staticcheck, then runs every Go test with the race detector against one PostgreSQL cluster
# started by the product's own managed-cluster code (internal/pgtest/withpg).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test

echo "== dashboard export" >&2
# The binary embeds dashboard/out (go:embed), so what is committed must be what the sources
# build: rebuild it and fail when anything differs or appears.
(cd dashboard && npm run --silent build >/dev/null)
if ! git diff --quiet -- dashboard/out || [ -n "$(git ls-files --others --exclude-standard -- dashboard/out)" ]; then
	echo "dashboard/out is stale: run (cd dashboard && npm run build) and commit dashboard/out" >&2
	git status --short -- dashboard/out >&2
	exit 1
fi

echo "== gofmt" >&2
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet" >&2
go vet ./...

echo "== staticcheck" >&2
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "== go test" >&2
go run ./internal/pgtest/withpg -- go test -race -count=1 -timeout 30m "$@" ./...
