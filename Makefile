# drp — plain Makefile.  Everything builds out of tree in $(BUILD).
#   make            build libdrp.a, drp, drp-fcgi, drp-register
#   make check      unit + integration tests (tests/run-tests.sh)
#   make conformance  fingerprints vs ../shared vectors (SHARED=...)
#   make asan       ASan+UBSan build running the whole suite
#   make valgrind   unit tests and the corpus walk under valgrind
#   make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make bench      benchmarks (bench/run.sh)
#   make deps       install missing Debian packages (idempotent)
#   make run        install deps, build and start the service locally
#   make install    PREFIX=/usr/local DESTDIR=
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
SHARED ?= $(abspath ../shared)
CC ?= cc
FUZZ_SECONDS ?= 60

PKGS := libcrypto json-c hiredis libmemcached fcgi
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter -Wno-format-truncation
OPT ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -Icore $(PKG_CFLAGS)
CFLAGS += -std=c11 $(OPT) $(WARN) -fno-strict-aliasing -fstack-protector-strong
LDLIBS += $(PKG_LIBS) -lm

ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

CORE_SRC := $(sort $(wildcard core/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
CLI_SRC := $(sort $(wildcard cli/*.c))
FCGI_SRC := $(sort $(wildcard fcgi/*.c))
REG_SRC := $(sort $(wildcard register/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

BINS := $(if $(CLI_SRC),$(BUILD)/drp) $(if $(FCGI_SRC),$(BUILD)/drp-fcgi) \
	$(if $(REG_SRC),$(BUILD)/drp-register)

.SECONDARY:

.PHONY: all check unit conformance asan valgrind fuzz fuzz-build bench deps run install clean \
	format format-check tests-bin

all: $(BUILD)/libdrp.a $(BINS)

tests-bin: all $(UNIT_BIN) $(TOOL_BIN) $(BENCH_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libdrp.a: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/drp: $(CLI_SRC:%.c=$(BUILD)/%.o) $(BUILD)/libdrp.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/drp-fcgi: $(FCGI_SRC:%.c=$(BUILD)/%.o) $(BUILD)/libdrp.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/drp-register: $(REG_SRC:%.c=$(BUILD)/%.o) $(BUILD)/libdrp.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CHECK_CFLAGS) $(CFLAGS) -Wno-missing-prototypes -MMD -MP -c -o $@ $<

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(BUILD)/libdrp.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tests/tools/%.o: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/tools/%.o $(BUILD)/libdrp.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -MMD -MP -c -o $@ $<

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libdrp.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

check: tests-bin
	BUILD=$(BUILD) SHARED=$(SHARED) tests/run-tests.sh

unit: tests-bin
	BUILD=$(BUILD) UNIT_ONLY=1 tests/run-tests.sh

conformance: tests-bin
	BUILD=$(BUILD) SHARED=$(SHARED) tests/conformance/run.sh

asan:
	$(MAKE) BUILD=build-asan SAN=1 OPT="-O1 -g" check

valgrind: tests-bin
	BUILD=$(BUILD) VALGRIND=1 UNIT_ONLY=1 tests/run-tests.sh

# libFuzzer targets: clang, ASan+UBSan, one binary per tests/fuzz/fuzz_*.c
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CORE_OBJ := $(CORE_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/core/%.o: core/%.c
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) -std=c11 -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -Wall -Wextra -Werror -Wno-unused-parameter -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_CORE_OBJ)
	@mkdir -p $(dir $@)
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/run.sh

bench: tests-bin
	BUILD=$(BUILD) SHARED=$(SHARED) bench/run.sh

deps:
	@scripts/deps.sh

run: deps all
	BUILD=$(BUILD) scripts/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BUILD)/drp $(DESTDIR)$(PREFIX)/bin/drp
	if [ -f $(BUILD)/drp-fcgi ]; then install -m 0755 $(BUILD)/drp-fcgi $(DESTDIR)$(PREFIX)/sbin/drp-fcgi; fi
	if [ -f $(BUILD)/drp-register ]; then install -m 0755 $(BUILD)/drp-register $(DESTDIR)$(PREFIX)/sbin/drp-register; fi
	for p in man/*.[0-9]; do [ -f "$$p" ] || continue; s=$${p##*.}; \
		install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
		install -m 0644 $$p $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	install -d $(DESTDIR)$(PREFIX)/share/drp
	cp -R nginx systemd rspamd $(DESTDIR)$(PREFIX)/share/drp/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
