# Build, test and lint AtroZ. Every target is one line; see README.md.

COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# A semantic version for /api/v1/status/buildinfo: the tag vX.Y.Z without its v, or 0.0.0-dev+COMMIT.
VERSION     ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//' | grep . || echo 0.0.0-dev+$(COMMIT))
LDFLAGS     := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME    ?= 60s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOSEC       := github.com/securego/gosec/v2/cmd/gosec@v2.30.0

.PHONY: build run test bench fuzz lint clean ui-vendor reliability promtool bench-import bench-peers

build: ; go build -trimpath -ldflags '$(LDFLAGS)' -o bin/atroz ./cmd/atroz
run: build ; ./bin/atroz serve -environment development
# promtool 3, from the Prometheus module in go.mod, is built once before the
# tests that run it (outside their timeouts); remove_all_sd leaves out the
# cloud service discoveries its query and check commands never use.
test: lint promtool ; PROMTOOL=$(CURDIR)/bin/promtool go test -race -timeout 30m ./... && go test -run='^$$' -bench=. -benchtime=1x -short ./...
promtool: ; go build -tags remove_all_sd -o bin/promtool github.com/prometheus/prometheus/cmd/promtool
reliability: ; go test -tags reliability -count=1 -v -timeout 20m ./reliability
bench: ; go test -run='^$$' -bench=. -benchmem ./...
fuzz: ; FUZZTIME=$(FUZZTIME) scripts/fuzz.sh
bench-import: ; scripts/bench-import.sh
# AtroZ against VictoriaMetrics, vmagent and Prometheus (import, live remote write, forwarding);
# needs victoria-metrics, vmagent, promtool and prometheus on the PATH, installs nothing.
bench-peers: ; scripts/bench-peers.sh
# vet's stdmethods wants every Seek to be io.Seeker's; Prometheus'
# chunkenc.Iterator, which store/iterator.go and store/block_iterator.go
# implement, has its own, so only the store package is vetted without that
# one check.
lint: ; test -z "$$(gofmt -l . | tee /dev/stderr)" && go vet $$(go list ./... | grep -vx atroz/store) && go vet -stdmethods=false ./store && go run $(STATICCHECK) ./... && go run $(GOSEC) -quiet ./...
clean: ; rm -rf bin
ui-vendor: ; cd ui && npm install --no-save --ignore-scripts && cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE static/vendor/ && cp node_modules/web-vitals/dist/web-vitals.iife.js static/vendor/ && cp node_modules/web-vitals/LICENSE static/vendor/LICENSE.web-vitals
