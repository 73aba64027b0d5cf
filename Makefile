# chatd — build, run, test.  `make help` lists the targets.

CC      ?= cc
PKGS    := libmicrohttpd hiredis libcjson libsodium nettle libxcrypt
# pkg-config is asked lazily: `make deps` must work before the packages exist.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lwslay -lunistring -lpthread

WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
# The server's layers, bottom up: the network shell, the real-time engine,
# the chat application; main.c and runtime.c compose them.
SERVER_DIRS := server/net server/realtime server/chat server
ALL_CFLAGS = $(WARN) $(CFLAGS) -D_GNU_SOURCE -Ilib $(addprefix -I,$(SERVER_DIRS)) $(PKG_CFLAGS) $(EXTRA_CFLAGS)

# SAN=1 builds everything under AddressSanitizer + UBSan into build-san/;
# TSAN=1 under ThreadSanitizer into build-tsan/ (gcc's runtime: libtsan2).
ifeq ($(SAN)$(TSAN),11)
$(error SAN=1 and TSAN=1 cannot be combined: AddressSanitizer and ThreadSanitizer exclude each other)
endif
ifeq ($(TSAN),1)
BUILD   := build-tsan
# TSan does not model atomic_thread_fence and reports a false race after one;
# gcc warns of each (-Wtsan), an error under -Werror, so none creeps in.
EXTRA_CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
else ifeq ($(SAN),1)
BUILD   := build-san
EXTRA_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   := build
endif
# The WORKERS values the protocol and chat suites run with, one pass each;
# ThreadSanitizer is slow, and its races need several workers: 4 only.
ifeq ($(TSAN),1)
TEST_WORKERS ?= 4
else
TEST_WORKERS ?= 1 4
endif

LIB_SRC    := $(wildcard lib/*.c)
# The Redis scripts, one Lua file each (docs/architecture.md, "Redis
# scripts"): scripts/lua-scripts.awk makes them a C table, compiled into
# libchat (STORE_SCRIPTS_C below), and lints them (make luacheck).
LUA_PRELUDES := $(sort $(wildcard lib/redis-scripts/prelude/*.lua))
LUA_SCRIPTS  := $(sort $(wildcard lib/redis-scripts/*.lua))
LUA_FILES    := $(LUA_PRELUDES) $(LUA_SCRIPTS)
STORE_SCRIPTS_C := gen/store_script_texts.c
SERVER_SRC := $(wildcard $(addsuffix /*.c,$(SERVER_DIRS)))
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/store_script_texts.o
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC   := $(wildcard test/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)
CHATD      := $(BUILD)/chatd
SAN_BINS   := build-san/chatd build-san/chatd-conformance
TSAN_BINS  := build-tsan/chatd build-tsan/chatd-conformance
# The conformance server: the same engine and loop, an echo application.
CONFORMANCE     := $(BUILD)/chatd-conformance
CONFORMANCE_OBJ := $(filter-out $(BUILD)/server/main.o,$(SERVER_OBJ)) $(BUILD)/server/conformance/echo.o
VERSION    := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

.PHONY: all deps web run test layers luacheck unit FORCE api protocol chat fleet tsan e2e webunit conformance fuzz bench clean help \
        install uninstall
all: $(CHATD) $(CONFORMANCE) web

help:
	@echo "make              build $(CHATD), $(CONFORMANCE) and the web app"
	@echo "make run          install what is missing, build, start Redis under var/, serve on :8000"
	@echo "make test         install what is missing, build, run every test suite"
	@echo "make unit         C unit tests        make fuzz      the fuzzers (FUZZ_SECONDS each)"
	@echo "make api          HTTP API tests      make protocol  Engine.IO/Socket.IO tests"
	@echo "make chat         chat and fleet      make e2e       browser tests (Chromium)"
	@echo "make fleet        nginx, rolling restarts, Sentinel, systemd, make install"
	@echo "make webunit      the web app's unit tests"
	@echo "make layers       no include cycle in server/ and lib/, layers include only down"
	@echo "make luacheck     lint the Redis scripts (lib/redis-scripts/) with luacheck"
	@echo "make conformance  the echo server on :3000 for the official protocol suites"
	@echo "make bench        benchmarks: chatd next to a Socket.IO 4 peer (docs/benchmarks.md)"
	@echo "make install      chatd, the web app, chatd(8), the systemd units, the nginx site and an"
	@echo "                  example env file (PREFIX=/usr/local, DESTDIR); make uninstall removes them"
	@echo "make SAN=1 …      the same under AddressSanitizer + UBSan (build-san/)"
	@echo "make tsan         protocol and chat suites under ThreadSanitizer (build-tsan/, WORKERS=4)"
	@echo "make TSAN=1 …     the same under ThreadSanitizer (build-tsan/)"

deps:
	@scripts/deps.sh

# The sources' shape (docs/architecture.md, "Layers").
layers:
	@node scripts/check-layers.mjs

$(BUILD)/%.o: %.c $(wildcard lib/*.h $(addsuffix /*.h,$(SERVER_DIRS))) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DCHATD_VERSION='"$(VERSION)"' -c $< -o $@

# Each script's text as Redis gets it, a C string, from the .lua files (a
# generated C source: portable C11, and awk is in Debian's base).
# gen/lua-files, the list of the .lua files, changes when one comes or goes,
# so a removed script rebuilds the table too.
$(BUILD)/$(STORE_SCRIPTS_C) build-fuzz/$(STORE_SCRIPTS_C): %/$(STORE_SCRIPTS_C): $(LUA_FILES) %/gen/lua-files \
        scripts/lua-scripts.awk
	@mkdir -p $(dir $@)
	@echo "awk -f scripts/lua-scripts.awk lib/redis-scripts/… >$@"
	@awk -v mode=c -f scripts/lua-scripts.awk $(LUA_FILES) >$@.tmp && mv $@.tmp $@

$(BUILD)/gen/lua-files build-fuzz/gen/lua-files: FORCE
	@mkdir -p $(dir $@)
	@echo '$(LUA_FILES)' | cmp -s - $@ || echo '$(LUA_FILES)' >$@
FORCE:

$(BUILD)/gen/store_script_texts.o: $(BUILD)/$(STORE_SCRIPTS_C) $(wildcard lib/*.h) Makefile
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Every script as Redis runs it (its preludes, then its body) through
# luacheck, set for Redis's Lua 5.1 and its globals (lib/redis-scripts/
# .luacheckrc); then scripts/test-luacheck.sh shows the lint fails on the bad
# scripts of test/lua/.
luacheck:
	@rm -rf $(BUILD)/lua && mkdir -p $(BUILD)/lua
	@awk -v mode=lint -v out=$(BUILD)/lua -f scripts/lua-scripts.awk $(LUA_FILES)
	@luacheck --quiet --no-color --config lib/redis-scripts/.luacheckrc $(BUILD)/lua
	@scripts/test-luacheck.sh

$(BUILD)/libchat.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(CHATD): $(SERVER_OBJ) $(BUILD)/libchat.a
	$(CC) $(LDFLAGS) -o $@ $(SERVER_OBJ) $(BUILD)/libchat.a $(PKG_LIBS)

$(CONFORMANCE): $(CONFORMANCE_OBJ) $(BUILD)/libchat.a
	$(CC) $(LDFLAGS) -o $@ $(CONFORMANCE_OBJ) $(BUILD)/libchat.a $(PKG_LIBS)

# Serves the echo application on :3000 for the official protocol suites
# (scripts/conformance.sh runs them against it).
conformance: $(CONFORMANCE)
	$(CONFORMANCE)

$(BUILD)/test/%: test/unit/%.c $(BUILD)/libchat.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libchat.a $(PKG_LIBS) -lcmocka

# libFuzzer targets: every test/fuzz/fuzz_*.c, built with clang over lib/*.c.
FUZZ_SRC     := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BIN     := $(FUZZ_SRC:test/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 60
build-fuzz/%: test/fuzz/%.c $(LIB_SRC) $(wildcard lib/*.h) build-fuzz/$(STORE_SCRIPTS_C)
	@mkdir -p $(dir $@)
	clang $(WARN) -O1 -g -D_GNU_SOURCE -Ilib $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -o $@ $< $(LIB_SRC) build-fuzz/$(STORE_SCRIPTS_C) $(PKG_LIBS)

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build-fuzz/corpus/$$n; \
	    echo "== $$n ($(FUZZ_SECONDS)s)"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build-fuzz/corpus/$$n \
	        $$( [ -d test/fuzz/seeds/$$n ] && echo test/fuzz/seeds/$$n ) >build-fuzz/$$n.log 2>&1 \
	        || { tail -n 40 build-fuzz/$$n.log; exit 1; }; tail -n 1 build-fuzz/$$n.log; done

web:
	@scripts/build-web.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

api: $(CHATD) web
	@CHATD_BIN=$(CURDIR)/$(CHATD) scripts/test-api.sh

protocol: $(CHATD) $(CONFORMANCE)
	@TEST_WORKERS="$(TEST_WORKERS)" CHATD_BIN=$(CURDIR)/$(CHATD) CONFORMANCE_BIN=$(CURDIR)/$(CONFORMANCE) \
	    scripts/test-protocol.sh

chat: $(CHATD)
	@TEST_WORKERS="$(TEST_WORKERS)" CHATD_BIN=$(CURDIR)/$(CHATD) scripts/test-chat.sh

# Several chatd behind the real nginx, rolling restarts, Sentinel failover,
# systemd notify, make install (docs/deployment.md).
fleet: $(CHATD)
	@CHATD_BIN=$(CURDIR)/$(CHATD) scripts/test-fleet.sh

# The protocol and chat suites against the ThreadSanitizer build, WORKERS=4;
# any report from any chatd they start fails them (docs/testing.md).
tsan:
	@$(MAKE) --no-print-directory TSAN=1 protocol chat

e2e: $(CHATD) web
	@CHATD_BIN=$(CURDIR)/$(CHATD) scripts/test-e2e.sh

webunit: web
	@cd web && npm test --silent

# Measures; asserts nothing (docs/benchmarks.md has the figures). chatd, the
# Node.js peer and (BENCH_ORIGINAL_DIR) the original, side by side.
bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory -s $(CHATD)
	@CHATD_BIN=$(CURDIR)/$(CHATD) scripts/bench.sh

# One Argon2id hash's time at several costs, libsodium alone (the default
# PASSWORD_MEMORY and PASSWORD_ITERATIONS come from it; docs/benchmarks.md).
$(BUILD)/bench/argon2-cost: test/bench/argon2/argon2-cost.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(PKG_LIBS)

# The layer check and the scripts' lint, then every suite, each on its own Redis: C units (also
# under ASan+UBSan), the fuzzers briefly, the API, protocol and chat suites
# against the real chatd (and its sanitizer build), the web app's units and
# the browser tests; last, the protocol and chat suites under
# ThreadSanitizer.
test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory layers
	@$(MAKE) --no-print-directory luacheck
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SAN=1 $(SAN_BINS)
	@$(MAKE) --no-print-directory TSAN=1 $(TSAN_BINS)
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory SAN=1 unit
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10
	@$(MAKE) --no-print-directory api
	@$(MAKE) --no-print-directory protocol
	@$(MAKE) --no-print-directory chat
	@$(MAKE) --no-print-directory fleet
	@$(MAKE) --no-print-directory webunit
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory SAN=1 api
	@$(MAKE) --no-print-directory SAN=1 protocol
	@$(MAKE) --no-print-directory SAN=1 chat
	@$(MAKE) --no-print-directory tsan

# ---- install (docs/deployment.md, "make install") -------------------------
# PREFIX for the program and its data; the settings live in /etc/chatd
# (SYSCONFDIR), which the units read whatever the PREFIX.  UNITDIR is in
# systemd's search path for PREFIX=/usr/local or /usr; /etc/systemd/system
# stays the administrator's.  The nginx site goes to $(DATADIR)/nginx, to
# be copied into /etc/nginx: an existing site is never overwritten.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share/chatd
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
# The shipped files name the default paths; installing rewrites them.
INSTALL_PATHS = sed -e 's|/usr/local/bin/chatd|$(BINDIR)/chatd|g' \
                    -e 's|/usr/local/share/chatd|$(DATADIR)|g' \
                    -e 's|/etc/chatd/|$(SYSCONFDIR)/chatd/|g'
INSTALLED_UNITS := chatd.service chatd@.service

# chatd(8): the man page chatd prints from the table --help prints.
$(BUILD)/chatd.8: $(CHATD)
	$(CHATD) --help=man >$@.tmp && mv $@.tmp $@

install: $(CHATD) $(BUILD)/chatd.8 web
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/nginx $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/chatd
	install -m 0755 $(CHATD) $(DESTDIR)$(BINDIR)/chatd
	rm -rf $(DESTDIR)$(DATADIR)/web
	cp -R web/dist $(DESTDIR)$(DATADIR)/web
	chmod -R u=rwX,go=rX $(DESTDIR)$(DATADIR)/web
	install -m 0644 $(BUILD)/chatd.8 $(DESTDIR)$(MANDIR)/man8/chatd.8
	set -e; for u in $(INSTALLED_UNITS); do \
	    $(INSTALL_PATHS) scripts/$$u >$(DESTDIR)$(UNITDIR)/$$u; chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; done
	$(INSTALL_PATHS) scripts/nginx-chatd.conf >$(DESTDIR)$(DATADIR)/nginx/chatd.conf
	chmod 0644 $(DESTDIR)$(DATADIR)/nginx/chatd.conf
	$(INSTALL_PATHS) scripts/chatd.env.example >$(DESTDIR)$(SYSCONFDIR)/chatd/chatd.env.example
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/chatd/chatd.env.example

# Exactly what install put; a directory only when that leaves it empty
# (/etc/chatd keeps the operator's env files).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/chatd $(DESTDIR)$(MANDIR)/man8/chatd.8 \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,$(INSTALLED_UNITS)) \
	    $(DESTDIR)$(DATADIR)/nginx/chatd.conf $(DESTDIR)$(SYSCONFDIR)/chatd/chatd.env.example
	rm -rf $(DESTDIR)$(DATADIR)/web
	set -e; for d in $(DESTDIR)$(DATADIR)/nginx $(DESTDIR)$(DATADIR) $(DESTDIR)$(SYSCONFDIR)/chatd; do \
	    [ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d; done

run:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@CHATD_BIN=$(CURDIR)/$(CHATD) scripts/run.sh

clean:
	rm -rf build build-san build-tsan build-fuzz
