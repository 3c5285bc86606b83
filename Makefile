# Wallets: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
PORT ?= 8080
STAGE ?= dev

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = 20

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X wallets/internal/obs.Version=$(VERSION)
FUNCTIONS := $(notdir $(patsubst %/main.go,%,$(wildcard functions/*/main.go)))
BOOTSTRAPS := $(FUNCTIONS:%=build/%/bootstrap)
# The Go modules: the service (.) and the CDK app (infra/, a module of its
# own so that the CDK toolchain stays out of the service's dependencies).
MODULES := . infra
# staticcheck 2026.2.2, which supports Go 1.26.
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test test-go test-infra vet sizes functions build synth diff deploy bench clean

## run: the whole API at http://127.0.0.1:$(PORT)/api/v1 on a throwaway PostgreSQL (or $$DATABASE_URL)
run:
	@mkdir -p build
	$(GO) build -ldflags "-X wallets/internal/obs.Version=$(VERSION)" -o build/wallets-local ./cmd/wallets-local
	PORT=$(PORT) exec ./build/wallets-local

## test: every test — vet, the Go suites with -race on a real PostgreSQL, the Lambda runtime test (with each bootstrap's size and links), the CDK synth tests
test: vet test-go test-infra

## vet: gofmt, then in every module go vet, staticcheck and go mod tidy -diff; fails on any finding
vet:
	@fail=0; \
	files=$$(git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'); \
	unformatted=$$(for f in $$files; do [ -f "$$f" ] && echo "$$f"; done | xargs gofmt -l 2>&1); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; fail=1; fi; \
	for m in $(MODULES); do \
	  echo "== module $$m: go vet, staticcheck, go mod tidy -diff"; \
	  (cd $$m && $(GO) vet ./...) || fail=1; \
	  (cd $$m && $(STATICCHECK) ./...) || fail=1; \
	  (cd $$m && $(GO) mod tidy -diff) || { echo "$$m: go.mod/go.sum not tidy (run go mod tidy in $$m)"; fail=1; }; \
	done; \
	exit $$fail

# The root module is everything but the CDK app (infra/ has its own go.mod,
# and node_modules/ gets one, so ./... covers neither).
test-go: node_modules
	$(GO) test -race -count=1 -timeout 20m ./...

test-infra: node_modules
	cd infra && $(GO) test -count=1 -timeout 30m ./...

## sizes: build every function and print each bootstrap's size (the Lambda runtime test bounds them)
sizes: build
	@for f in $(BOOTSTRAPS); do \
	  size=$$(wc -c < $$f); \
	  printf '%-48s %10d bytes %6s MiB\n' $$f $$size $$(awk "BEGIN{printf \"%.2f\", $$size/1048576}"); \
	done

## functions: write functions/<function>/main.go of every route from the route table (internal/route) and api.Handlers; the layout test fails when one is out of date
functions:
	$(GO) run ./cmd/wallets-functions

## build: one linux/arm64 bootstrap per Lambda function under build/<function>/bootstrap
build: $(BOOTSTRAPS)

build/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags '$(LDFLAGS)' -o $@ ./functions/$*

FORCE:

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@# The CDK CLI ships Go templates; a go.mod keeps them out of ./...
	@echo 'module ignore_node_modules' > node_modules/go.mod
	@touch node_modules

CDK := ./node_modules/.bin/cdk

## synth: build the bootstraps, then synthesize the CloudFormation templates into cdk.out/ (offline)
synth: build node_modules
	$(CDK) synth --context stage=$(STAGE) --quiet $(CDK_ARGS)

## diff / deploy: compare with or deploy to the AWS account of your credentials
## (extra CDK context: make deploy STAGE=prod CDK_ARGS="-c alarmEmail=ops@example.com")
diff: build node_modules
	$(CDK) diff --context stage=$(STAGE) $(CDK_ARGS)

deploy: build node_modules
	$(CDK) deploy --context stage=$(STAGE) --all --require-approval broadening $(CDK_ARGS)

## bench: pgbench baselines, then the API in-process under vegeta load, on one throwaway PostgreSQL; one table (BENCH_SECONDS per run, default 10)
bench:
	$(GO) run ./cmd/wallets-bench

## cover: statement coverage of internal/, per package and in total (build/cover.out; go tool cover -html=build/cover.out to browse)
.PHONY: cover
cover: node_modules
	@mkdir -p build
	$(GO) test -count=1 -timeout 20m -coverprofile=build/cover.out ./internal/... | grep -v 'no test files'
	@$(GO) tool cover -func=build/cover.out | tail -1

## bench-go: the Go micro-benchmarks of the money movements against a throwaway PostgreSQL
.PHONY: bench-go bench-cold
bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 3 ./internal/postgres/

## bench-cold: the cold start (Init Duration, and what the first call adds) of a hello-world bootstrap and of five functions run as in AWS (stand-ins for Secrets Manager and RDS Proxy), side by side under the Lambda RIE
bench-cold:
	$(GO) test -count=1 -run '^$$' -bench '^BenchmarkColdStart$$' -benchtime 1x ./internal/bench/cold

## import: carry the old Django service's users, wallets and transactions into $$DATABASE_URL (migrated first): make import FROM=postgres://…
## (IMPORT_ARGS="-iam-region eu-west-1 -batch 5000" passes flags to cmd/wallets-import)
.PHONY: import
import:
	@test -n "$(FROM)" -a -n "$$DATABASE_URL" || { echo 'usage: DATABASE_URL=<new database URL> make import FROM=<old database URL>'; exit 2; }
	@FROM='$(FROM)' $(GO) run ./cmd/wallets-import $(IMPORT_ARGS)

clean:
	rm -rf build cdk.out

## fuzz: run each native fuzz target for FUZZTIME (default 30s), one after another; findings land in testdata/fuzz
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./internal/money:FuzzParse ./internal/money:FuzzParseJSON ./internal/money:FuzzScan ./internal/money:FuzzString \
	./internal/api:FuzzForm ./internal/api/cursor:FuzzDecode ./internal/api/cursor:FuzzRoundTrip ./internal/api:FuzzJWTVerify \
	./internal/idempotency:FuzzNewRequest ./internal/route:FuzzMatch

.PHONY: fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "== $$fn ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done
	@echo "== property tests (internal/contract) for $(FUZZTIME) each, random seed"
	WALLETS_PROPERTY_TIME=$(FUZZTIME) $(GO) test -count=1 -run '^TestProperty' -timeout 0 ./internal/contract -args -rapid.checks=1000000 -rapid.seed=0

## lint-workflows: actionlint (pinned, through go run) on the GitHub Actions workflows; part of make test
ACTIONLINT := $(GO) run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
.PHONY: lint-workflows
lint-workflows:
	$(ACTIONLINT) .github/workflows/*.yml
test: lint-workflows
