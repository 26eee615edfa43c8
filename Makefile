# The README's commands. `make test` is what CI runs.
GO ?= go
# Every target runs each module on its own go.mod (root, examples/, interop/,
# bench/): the go.work that joins them for `go run ./examples/server` would
# otherwise test the library against the highest versions any module asks for.
export GOWORK := off
STATICCHECK_VERSION ?= v0.7.0
FUZZTIME ?= 10s

.PHONY: test unit interop interop-soak deps bench bench-compare fuzz lint

## test: install the real peers if missing, then unit + interop tests with -race.
test: deps unit interop

deps:
	./scripts/install-deps.sh

unit:
	$(GO) test -race -count=1 ./...
	cd examples && $(GO) test -race -count=1 ./...
	cd signaling/natsbackplane && $(GO) test -race -count=1 ./...

interop:
	cd interop && $(GO) test -race -count=1 -timeout 20m ./...
	cd bench && $(GO) vet ./...

## interop-soak: the interop suite N times in a row (N=10 by default), stopping at
## the first failure; prints the run count and the elapsed time. Not part of CI.
N ?= 10
interop-soak:
	@start=$$(date +%s); \
	for i in $$(seq 1 $(N)); do \
		echo "== interop run $$i of $(N)"; \
		if ! (cd interop && $(GO) test -race -count=1 -timeout 20m ./...); then \
			echo "interop-soak: run $$i of $(N) failed after $$(( $$(date +%s) - start )) s"; exit 1; \
		fi; \
	done; \
	echo "interop-soak: $(N) of $(N) runs passed in $$(( $$(date +%s) - start )) s"

## bench: side-by-side benchmarks against pion, coturn and nginx-rtmp.
bench: deps
	cd bench && $(GO) test -run '^$$' -bench . -benchmem -count 1 -timeout 30m ./...

## bench-compare: the side-by-side comparisons (gortmplib, pion/stun, pion/webrtc,
## pion/ice, stun.Server) in COUNT alternating pairs, raw runs and benchstat tables in
## bench/results/ (ONLY=names; NOTE=text goes to the machine files).
COUNT ?= 10
BENCHTIME ?= 1s
bench-compare:
	COUNT=$(COUNT) BENCHTIME=$(BENCHTIME) ONLY="$(ONLY)" NOTE="$(NOTE)" GO=$(GO) ./scripts/bench-compare.sh

## fuzz: every FuzzXxx target of the library for $(FUZZTIME) each (examples/,
## interop/ and bench/ have none).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

## lint: gofmt, go vet and staticcheck on every module (root, examples/, interop/,
## bench/, signaling/natsbackplane/).
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	$(GO) vet ./... && $(STATICCHECK) ./...
	cd examples && $(GO) vet ./... && $(STATICCHECK) ./...
	cd interop && $(GO) vet ./... && $(STATICCHECK) ./...
	cd bench && $(GO) vet ./... && $(STATICCHECK) ./...
	cd signaling/natsbackplane && $(GO) vet ./... && $(STATICCHECK) ./...
