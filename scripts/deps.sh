#!/usr/bin/env bash
# Installs, idempotently, what Go Forward needs on a Debian or Ubuntu machine.
#   scripts/deps.sh serve   PostgreSQL server binaries (goforward runs its own cluster with them)
#   scripts/deps.sh test    the same, plus everything the test suite starts
# As root it uses apt-get directly, otherwise sudo; without either it says what to install.
set -euo pipefail

purpose="${1:-serve}"

have_postgres() {
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1
}

missing=()
have_postgres || missing+=(postgresql)
command -v gcc >/dev/null 2>&1 || missing+=(gcc) # cgo: internal/sqlguard builds PostgreSQL's parser (pg_query)

if [ "$purpose" = test ]; then
	command -v node >/dev/null 2>&1 || missing+=(nodejs)
	command -v npm >/dev/null 2>&1 || missing+=(npm)
	command -v redis-server >/dev/null 2>&1 || missing+=(redis-server) # realtime's cluster tests; not auto-started
	command -v wrk >/dev/null 2>&1 || missing+=(wrk) # restbench's wrk variants and their tests
	[ -x /usr/bin/chromium ] || missing+=(chromium) # the dashboard's browser tests (playwright-core drives it)
fi

# install_node_packages installs the pinned npm packages of the Node end-to-end tests.
# supabase-js 2.109 and `node --test --test-concurrency` need Node.js 20 or newer; Debian 12's
# own nodejs is 18, so say so plainly instead of failing later inside the suite.
install_node_packages() {
	if [ "$purpose" = test ]; then
		local major
		major="$(node -p 'process.versions.node.split(".")[0]')"
		if [ "$major" -lt 20 ]; then
			echo "The end-to-end tests need Node.js 20 or newer; this machine has $(node -v)." >&2
			echo "Install Node.js 20 (for example from https://github.com/nodesource/distributions) and run again." >&2
			exit 1
		fi
		local root
		root="$(dirname "$0")/.."
		# The supabase-js suite, the dashboard's build (scripts/test.sh rebuilds it) and its
		# browser tests (playwright-core and axe-core; the browser is Debian's chromium, never a
		# download). npm ci installs exactly what each lock says, afresh every run.
		for dir in tests/e2e/node dashboard tests/e2e/dashboard; do
			npm ci --prefix "$root/$dir" --no-audit --no-fund --loglevel=error >&2
		done
	fi
}

# install_go_tools installs the S3-compatible server the cluster tests run as a process of its
# own (gofakes3, MIT): `go install` of a pinned version is a no-op once it is there.
install_go_tools() {
	if [ "$purpose" = test ]; then
		local bin
		bin="$(go env GOPATH)/bin"
		if ! [ -x "$bin/gofakes3" ] && ! command -v gofakes3 >/dev/null 2>&1; then
			GOFLAGS= go install github.com/johannesboyne/gofakes3/cmd/gofakes3@v1.2.0 >&2
		fi
	fi
}

if [ "${#missing[@]}" -eq 0 ]; then
	install_node_packages
	install_go_tools
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo=(sudo)
else
	echo "Go Forward needs these Debian packages: ${missing[*]}" >&2
	echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "No apt-get here. Install the PostgreSQL server (15 or newer) with your package manager," >&2
	echo "or set DATABASE_URL to an existing PostgreSQL. Missing: ${missing[*]}" >&2
	exit 1
fi

echo "Installing ${missing[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=300 -y -q)
"${sudo[@]}" "${apt[@]}" update >/dev/null
"${sudo[@]}" "${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null
echo "Installed ${missing[*]}." >&2
install_node_packages
install_go_tools
