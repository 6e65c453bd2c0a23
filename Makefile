# SPDX-License-Identifier: MIT
# The observatory: plain Makefile. `make demo` runs the main job, `make test` the tests.
# Top-level targets install missing Debian packages first (tools/install-deps.sh), then
# build in a sub-make so pkg-config runs after the packages exist.

SHELL := /bin/bash
CC ?= cc
PKGS := ldns libevent yaml-0.1 sqlite3 libpcap jansson librrd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))

WARN := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wformat=2 -Wno-format-nonliteral -Wno-format-truncation
INCLUDES := -Icommon -Icollector -Ianalyzer -Ianalyzer/cli
REL_CFLAGS := $(WARN) -O2 -g -MMD -MP
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_CFLAGS := $(WARN) -O1 -g -MMD -MP $(SAN_FLAGS)

COMMON_SRC := $(wildcard common/*.c)
COLL_LIB_SRC := $(filter-out collector/main.c,$(wildcard collector/*.c))
AN_LIB_SRC := $(filter-out analyzer/main.c,$(wildcard analyzer/*.c))
LIB_SRC := $(COMMON_SRC) $(COLL_LIB_SRC) $(AN_LIB_SRC)
MIGRATIONS := $(sort $(wildcard schemas/collector/[0-9]*.sql))
AN_MIGRATIONS := $(sort $(wildcard schemas/analysis/[0-9]*.sql))
AN_CLI_SRC := analyzer/main.c $(wildcard analyzer/cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
WEB_SRC := $(wildcard web/*.c)
CTL_SRC := $(wildcard controller/*.c)
WEB_ASSETS := $(sort $(wildcard web/assets/*))

GEN := build/gen/migrations.c
AN_GEN := build/gen/an_migrations.c
WEB_GEN := build/gen/web_assets.c

REL_OBJ := $(patsubst %.c,build/rel/%.o,$(LIB_SRC)) build/rel/gen/migrations.o \
	build/rel/gen/an_migrations.o
SAN_OBJ := $(patsubst %.c,build/san/%.o,$(LIB_SRC)) build/san/gen/migrations.o \
	build/san/gen/an_migrations.o

.PHONY: all deps build build-san check test integration browser-test testbed-test bench demo format \
	format-check clean man

all: deps
	@$(MAKE) --no-print-directory build

deps:
	@tools/install-deps.sh all

build: bin/obs-collector bin/obs-analyzer bin/obs-web

build-san: build/san/obs-collector build/san/obs-analyzer build/san/obs-web build/san/unit-tests build/tools/dns-hostile

build/bench/web-load: build/rel/tests/bench/web-load.o
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(PKG_LIBS)

build/bench/whatif-bench: build/rel/tests/bench/whatif-bench.o $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(PKG_LIBS)

build/bench/collector-bench: build/rel/tests/bench/collector-bench.o $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(PKG_LIBS)

# a large collector database through the collector's store, for tests/bench/analyzer-replay.sh
build/bench/replay-gen: build/rel/tests/bench/replay-gen.o $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(PKG_LIBS)

# test tools (not installed): peers for integration tests
build/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $< $(PKG_LIBS)

# LD_PRELOAD shim: sendmmsg refuses segmentation offload (tests/integration/t_collector.sh)
build/tools/nogso.so: tests/tools/nogso.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -shared -fPIC -o $@ $< -ldl

# the synthetic population for the population report (tests/acceptance/t_transitions.sh)
build/tools/popgen: build/rel/tests/tools/popgen.o $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(PKG_LIBS)

build-san: build/tools/popgen build/tools/nogso.so

# the reference controller (controller/): gates a multi-signer operation on obs-web's whatif
build: bin/obs-controller
build-san: build/san/obs-controller

build/embed: tools/embed.c
	@mkdir -p $(@D)
	$(CC) -O1 -o $@ $<

$(GEN): build/embed $(MIGRATIONS)
	@mkdir -p $(@D)
	build/embed obs_collector_migrations $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(AN_GEN): build/embed $(AN_MIGRATIONS)
	@mkdir -p $(@D)
	build/embed obs_analysis_migrations $(AN_MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(WEB_GEN): build/embed $(WEB_ASSETS)
	@mkdir -p $(@D)
	build/embed obs_web_assets $(WEB_ASSETS) > $@.tmp && mv $@.tmp $@

build/rel/gen/web_assets.o: $(WEB_GEN)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(INCLUDES) -c -o $@ $<

build/san/gen/web_assets.o: $(WEB_GEN)
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) $(INCLUDES) -c -o $@ $<

build/rel/gen/an_migrations.o: $(AN_GEN)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(INCLUDES) -c -o $@ $<

build/san/gen/an_migrations.o: $(AN_GEN)
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) $(INCLUDES) -c -o $@ $<

build/rel/gen/migrations.o: $(GEN)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(INCLUDES) -c -o $@ $<

build/san/gen/migrations.o: $(GEN)
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) $(INCLUDES) -c -o $@ $<

build/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $(INCLUDES) $(PKG_CFLAGS) -c -o $@ $<

build/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) $(INCLUDES) $(PKG_CFLAGS) -c -o $@ $<

bin/obs-collector: build/rel/collector/main.o $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(PKG_LIBS)

build/san/obs-collector: build/san/collector/main.o $(SAN_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

bin/obs-analyzer: $(patsubst %.c,build/rel/%.o,$(AN_CLI_SRC)) $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(PKG_LIBS)

build/san/obs-analyzer: $(patsubst %.c,build/san/%.o,$(AN_CLI_SRC)) $(SAN_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

bin/obs-web: $(patsubst %.c,build/rel/%.o,$(WEB_SRC)) build/rel/gen/web_assets.o $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(PKG_LIBS)

build/san/obs-web: $(patsubst %.c,build/san/%.o,$(WEB_SRC)) build/san/gen/web_assets.o $(SAN_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

bin/obs-controller: $(patsubst %.c,build/rel/%.o,$(CTL_SRC)) $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(PKG_LIBS)

build/san/obs-controller: $(patsubst %.c,build/san/%.o,$(CTL_SRC)) $(SAN_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

build/san/unit-tests: $(patsubst %.c,build/san/%.o,$(UNIT_SRC)) $(SAN_OBJ) build/san/web/cache.o
	$(CC) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS) -lcriterion

# fast, offline: unit and replay tests under ASan and UBSan
check: deps
	@$(MAKE) --no-print-directory build-san
	@tests/run-suites.sh unit

# everything: check plus integration tests against real servers and resolvers
test: deps
	@$(MAKE) --no-print-directory build build-san format-check
	@tests/run-suites.sh unit integration testbed browser acceptance

integration: deps
	@$(MAKE) --no-print-directory build build-san
	@tests/run-suites.sh integration

# the dashboard in headless Chromium during a live testbed scenario (netns obs-web-e2e)
browser-test: deps
	@$(MAKE) --no-print-directory build
	@tests/run-suites.sh browser

bench: deps
	@$(MAKE) --no-print-directory build build/bench/collector-bench build/bench/whatif-bench build/bench/web-load \
		build/bench/replay-gen
	@tests/bench/collector-vs-dnsperf.sh
	@tests/bench/analyzer-replay.sh
	@tests/bench/passive-vs-tshark.sh
	@tests/bench/whatif-latency.sh
	@tests/bench/live-verdict.sh
	@tests/bench/web-load.sh

demo: deps
	@$(MAKE) --no-print-directory build
	@tools/demo.sh

format:
	clang-format -i $(LIB_SRC) collector/main.c $(AN_CLI_SRC) tools/embed.c $(WEB_SRC) \
		$(wildcard common/*.h collector/*.h analyzer/*.h analyzer/cli/*.h web/*.h) $(UNIT_SRC) \
		$(CTL_SRC) $(wildcard controller/*.h)

format-check:
	@clang-format --dry-run -Werror $(LIB_SRC) collector/main.c $(AN_CLI_SRC) tools/embed.c \
		$(WEB_SRC) $(wildcard common/*.h collector/*.h analyzer/*.h analyzer/cli/*.h web/*.h) \
		$(UNIT_SRC) $(CTL_SRC) $(wildcard controller/*.h) && echo "format-check: ok"

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
