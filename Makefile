# ngx_confer_module
#
#   make            the nginx module, the confer-attest CLI and the unit tests
#   make run        build, then start the local stack (simulated TEE)
#   make test       build, then run everything under t/ with prove
#   make test-asan  the integration suite with an ASan+UBSan module
#   make bench      the price of privacy, as ratios (t/bench/results.json)
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS each
#   make fuzz-campaign  the documented campaign: 600 s per harness, 2 at a time
#   make deps       install what a fresh Debian 12 needs (idempotent)
#
# BUILD=DIR puts everything in another directory (several builds can live
# side by side); NGINX_SRC=DIR builds the module against another nginx tree
# (configured with its conf_flags, or the --with flags of NGINX_BIN -V).

SHELL      := /bin/bash
BUILD      ?= build
NGINX_SRC  ?= /usr/share/nginx/src
NGINX_BIN  ?= /usr/sbin/nginx
CC         ?= cc
FUZZ_CC    ?= clang-14
FUZZ_SECONDS ?= 60

ABS_BUILD  := $(abspath $(BUILD))
TOP        := $(CURDIR)

CFLAGS_CORE := -std=gnu11 -g -O2 -fPIC -Wall -Wextra -Werror \
               -Wno-unused-parameter -Wpointer-arith \
               -Ingx_confer_module -Iattest
LIBS        := -lsodium -ljansson -lcrypto

# extra flags for the module build, e.g. sanitizers
MOD_CFLAGS  ?=
MOD_LDFLAGS ?=

CORE_SRCS   := $(wildcard ngx_confer_module/confer_*.c)
ATTEST_SRCS := $(wildcard attest/attest_*.c)
GLUE_SRCS   := $(wildcard ngx_confer_module/ngx_http_confer_*.c)
HDRS        := $(wildcard ngx_confer_module/*.h attest/*.h)
LIB_OBJS    := $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRCS) $(ATTEST_SRCS))
UNIT_SRCS   := $(wildcard t/unit/*.c)
TEST_HDRS   := $(wildcard t/unit/*.h t/fuzz/*.h)
UNIT_BINS   := $(patsubst t/unit/%.c,$(BUILD)/t/unit/%,$(UNIT_SRCS))
FUZZ_SRCS   := $(wildcard t/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst t/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
REPLAY_BINS := $(patsubst t/fuzz/%.c,$(BUILD)/fuzz-replay/%,$(FUZZ_SRCS))
TOOL_BINS   := $(patsubst t/tools/%.c,$(BUILD)/tools/%,$(wildcard t/tools/*.c))
BENCH_BINS  := $(patsubst t/bench/%.c,$(BUILD)/bench/%,$(wildcard t/bench/*.c))

MODULE      := $(BUILD)/nginx/ngx_http_confer_module.so
CLI         := $(BUILD)/confer-attest

APT_PKGS    := nginx nginx-dev libssl-dev libsodium-dev libjansson-dev \
               perl curl wrk clang-14 libclang-rt-14-dev valgrind \
               build-essential ca-certificates

export CONFER_BUILD := $(ABS_BUILD)
export CONFER_NGINX := $(NGINX_BIN)

.PHONY: all module cli units replay tools benches deps test test-asan bench fuzz fuzz-campaign run clean

all: module cli units replay tools benches

module: $(MODULE)
cli: $(CLI)
units: $(UNIT_BINS)
replay: $(REPLAY_BINS)
tools: $(TOOL_BINS)
benches: $(BENCH_BINS)

# --- nginx module -----------------------------------------------------------

# configure again only when config or the list of sources changes
$(BUILD)/srclist: FORCE
	@mkdir -p $(BUILD)
	@echo "$(sort $(CORE_SRCS) $(ATTEST_SRCS) $(GLUE_SRCS) $(HDRS))" \
	    "$(MOD_CFLAGS) $(MOD_LDFLAGS) $(NGINX_SRC) $(NGINX_BIN)" > $@.new
	@cmp -s $@.new $@ || mv $@.new $@; rm -f $@.new

# Configure flags: Debian's conf_flags where the tree has them; else
# --with-compat and --with-http_ssl_module, and the plain --with-* flags of
# $(NGINX_BIN) -V (the module must see what nginx has: with --with-debug
# missing, the privacy module cannot refuse debug_connection)
$(BUILD)/nginx/Makefile: config $(BUILD)/srclist
	@mkdir -p $(BUILD)/nginx
	cd $(NGINX_SRC) && \
	if [ -f conf_flags ]; then . ./conf_flags; \
	else NGX_CONF_FLAGS=(--with-compat --with-http_ssl_module \
	    $$($(NGINX_BIN) -V 2>&1 | sed -n 's/^configure arguments: //p' \
	       | tr ' ' '\n' | grep -E '^--with-[a-z0-9_-]+$$')); fi; \
	./configure --with-cc-opt="-g -O2 -fPIC $(MOD_CFLAGS)" \
	    --with-ld-opt="-fPIC $(MOD_LDFLAGS)" "$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(TOP) --builddir=$(ABS_BUILD)/nginx \
	    > $(ABS_BUILD)/nginx/configure.log 2>&1 \
	|| { tail -30 $(ABS_BUILD)/nginx/configure.log; exit 1; }

$(MODULE): $(BUILD)/nginx/Makefile $(CORE_SRCS) $(ATTEST_SRCS) $(GLUE_SRCS) $(HDRS)
	$(MAKE) -s -f $(ABS_BUILD)/nginx/Makefile -C $(NGINX_SRC) modules

# --- nginx-free core, CLI and unit tests ------------------------------------

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_CORE) -c $< -o $@

$(BUILD)/libconfer.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(CLI): attest/confer-attest.c $(BUILD)/libconfer.a $(HDRS)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_CORE) $< -o $@ $(BUILD)/libconfer.a $(LIBS)

$(BUILD)/t/unit/%: t/unit/%.c $(TEST_HDRS) $(BUILD)/libconfer.a $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_CORE) -It/unit $< -o $@ $(BUILD)/libconfer.a $(LIBS)

# test tools (t/tools/NAME.c) and bench sections (t/bench/NAME.c)
$(BUILD)/tools/%: t/tools/%.c $(BUILD)/libconfer.a $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_CORE) $< -o $@ $(BUILD)/libconfer.a $(LIBS)

$(BUILD)/bench/%: t/bench/%.c $(BUILD)/libconfer.a $(HDRS) $(TEST_HDRS) \
                  $(wildcard t/bench/*.h)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_CORE) $< -o $@ $(BUILD)/libconfer.a $(LIBS)

# fuzz harnesses built with a plain main() that replays a corpus directory,
# so that make test runs every corpus without clang
$(BUILD)/fuzz-replay/%: t/fuzz/%.c t/fuzz/replay.c $(BUILD)/libconfer.a \
                        $(HDRS) $(TEST_HDRS)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_CORE) $< t/fuzz/replay.c -o $@ $(BUILD)/libconfer.a $(LIBS)

# --- libFuzzer ---------------------------------------------------------------

FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=undefined -Ingx_confer_module -Iattest

$(BUILD)/fuzz/%: t/fuzz/%.c $(CORE_SRCS) $(ATTEST_SRCS) $(HDRS) $(TEST_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $< $(CORE_SRCS) $(ATTEST_SRCS) -o $@ $(LIBS)

fuzz: deps $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	    n=$$(basename $$f); c=t/fuzz/corpus/$${n#fuzz_}; \
	    mkdir -p $(BUILD)/fuzz/new/$$n; \
	    echo "== $$n for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        $(BUILD)/fuzz/new/$$n $$c || exit 1; \
	done

fuzz-campaign: deps
	BUILD=$(BUILD) t/tools/fuzz-campaign 600 2

# --- the two commands and friends -------------------------------------------

deps:
	@t/tools/deps $(APT_PKGS)

test: deps all
	prove -r t/

test-asan: deps
	$(MAKE) BUILD=$(BUILD)-asan module \
	    MOD_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
	    MOD_LDFLAGS="-fsanitize=address,undefined"
	CONFER_MODULE=$(abspath $(BUILD)-asan)/nginx/ngx_http_confer_module.so \
	CONFER_ASAN=1 $(MAKE) test

bench: deps all
	t/bench/run

run: deps all
	t/tools/run-stack

clean:
	rm -rf $(BUILD) $(BUILD)-asan

FORCE:
