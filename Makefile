# Thin wrappers over scripts/, which work without make on a fresh machine.
.PHONY: run test build lint fmt

run:
	bash scripts/serve.sh

test:
	bash scripts/test.sh

build:
	mkdir -p bin && go build -ldflags "-X github.com/goforward/goforward/internal/cli.version=$$(git describe --tags --always --dirty 2>/dev/null || echo dev)" -o bin/goforward ./cmd/goforward

lint:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
