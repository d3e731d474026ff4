# sluice: build with only a C compiler and libc.
#
#   make            build every program and the unit tests into build/
#   make check      run the whole test suite (tests/run), ends "N passed, N failed"
#   make fuzz       run each libFuzzer target (tests/fuzz/fuzz_*.c, built
#                   with clang into build-fuzz/) for FUZZ_SECONDS (default 60)
#   make fuzz-long  the same for FUZZ_SECONDS (default 600) each, and keep
#                   a minimised corpus in tests/fuzz/corpus/NAME (tools/fuzzrun -k)
#   make bench      run the benchmarks under bench/
#   make bench-peers  (root) only bench/peers.sh: sluice beside Postfix,
#                   A B A B on the same machine (also part of make bench)
#   make soak       (root) the soak, bench/soak.sh: lost and duplicated
#                   messages under restarts and kill -9 (not in make bench)
#   make setup      (root) users, directories, programs under conf-home
#   make clean      remove build outputs
#
# The compile and link commands are the first lines of conf-cc and
# conf-ld. B names the build directory, CONF_HOME overrides conf-home
# (the tests build a private instance that way), EXTRA_CFLAGS and
# EXTRA_LDFLAGS add flags (the sanitizer build uses them).

SHELL = /bin/sh
B = build
CC_CMD := $(shell sed -n 1p conf-cc)
LD_CMD := $(shell sed -n 1p conf-ld)
CONF_HOME := $(shell sed -n 1p conf-home)
CONF_SPLIT := $(shell sed -n 1p conf-split)
EXTRA_CFLAGS =
EXTRA_LDFLAGS =
FUZZ_SECONDS =
FUZZ_CC = clang

LIBSRC := $(sort $(wildcard src/lib/*.c))
LIBOBJ := $(patsubst src/lib/%.c,$(B)/lib/%.o,$(LIBSRC))
PROGSRC := $(sort $(wildcard src/*.c))
PROGS := $(patsubst src/%.c,$(B)/%,$(PROGSRC))
UNITSRC := $(sort $(wildcard tests/unit/test_*.c))
UNITS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNITSRC))
FUZZSRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZSRC))
HELPSRC := $(sort $(wildcard tests/helpers/*.c))
HELPERS := $(patsubst tests/helpers/%.c,$(B)/tests/%,$(HELPSRC))

CFLAGS_ALL = $(EXTRA_CFLAGS) -Isrc/lib -I$(B)/auto -MMD -MP

all: $(PROGS) units

units: $(UNITS) $(HELPERS)

.PHONY: all units check fuzz fuzz-long fuzzers bench bench-peers soak setup install clean

# Values of the conf- files compiled into the programs. Rewritten only
# when they change, so a rebuild does not relink everything.
$(B)/auto/auto.c: conf-home conf-split conf-users FORCE
	@mkdir -p $(@D)
	@sh tools/mkauto "$(CONF_HOME)" "$(CONF_SPLIT)" conf-users > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

FORCE:

$(B)/auto/auto.o: $(B)/auto/auto.c src/lib/auto.h
	$(CC_CMD) $(CFLAGS_ALL) -c -o $@ $<

$(B)/lib/%.o: src/lib/%.c
	@mkdir -p $(@D)
	$(CC_CMD) $(CFLAGS_ALL) -c -o $@ $<

$(B)/libsluice.a: $(LIBOBJ) $(B)/auto/auto.o
	@rm -f $@
	ar rcs $@ $^

$(B)/prog/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC_CMD) $(CFLAGS_ALL) -c -o $@ $<

$(PROGS): $(B)/%: $(B)/prog/%.o $(B)/libsluice.a
	$(LD_CMD) $(EXTRA_LDFLAGS) $(if $(filter $*,$(STATIC_PROGS)),$(STATIC_LDFLAGS)) -o $@ $< $(B)/libsluice.a

# Programs run once per message, linked statically: no dynamic loader,
# no shared libraries to map and relocate at each start. They must not
# use the name service (getpw*, getaddrinfo), which a static glibc
# program can only reach by loading shared libraries after all.
# STATIC_LDFLAGS is -static-pie when the link command accepts it (and
# is not a sanitizer build), else empty: conf-ld alone.
# `make STATIC_LDFLAGS=` links them dynamically.
STATIC_PROGS = sluice-queue
STATIC_LDFLAGS := $(if $(findstring -fsanitize,$(LD_CMD) $(EXTRA_LDFLAGS)),,$(shell \
  printf 'int main(void) { return 0; }\n' | $(LD_CMD) -static-pie -x c -o /dev/null - > /dev/null 2>&1 && echo -static-pie))

$(B)/tobj/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC_CMD) $(CFLAGS_ALL) -Itests/unit -c -o $@ $<

$(B)/tobj/%.o: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC_CMD) $(CFLAGS_ALL) -Itests/unit -c -o $@ $<

$(UNITS) $(HELPERS): $(B)/tests/%: $(B)/tobj/%.o $(B)/libsluice.a
	@mkdir -p $(@D)
	$(LD_CMD) $(EXTRA_LDFLAGS) -o $@ $< $(B)/libsluice.a

# libFuzzer targets: the library compiled again by clang with the fuzzer,
# address and undefined-behaviour sanitizers, once into build-fuzz/lib,
# and linked into each target.
FUZZFLAGS = -g -O1 -std=c11 -D_DEFAULT_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc/lib -Ibuild-fuzz/auto
FUZZOBJ := $(patsubst src/lib/%.c,build-fuzz/lib/%.o,$(LIBSRC)) build-fuzz/auto/auto.o
fuzzers: $(FUZZERS)

build-fuzz/auto/auto.c: conf-home conf-split conf-users
	@mkdir -p $(@D)
	sh tools/mkauto "$(CONF_HOME)" "$(CONF_SPLIT)" conf-users > $@

build-fuzz/auto/auto.o: build-fuzz/auto/auto.c
	$(FUZZ_CC) $(FUZZFLAGS) -c -o $@ $<

build-fuzz/lib/%.o: src/lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZFLAGS) -MMD -MP -c -o $@ $<

$(FUZZERS): build-fuzz/%: tests/fuzz/%.c $(FUZZOBJ)
	$(FUZZ_CC) $(FUZZFLAGS) -MMD -MP -MF $@.d -MT $@ -o $@ $< $(FUZZOBJ)

fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do sh tools/fuzzrun $$f $(or $(FUZZ_SECONDS),60) || exit 1; done

# Every target runs even after one failed; the exit status tells.
fuzz-long: $(FUZZERS)
	@bad=0; for f in $(FUZZERS); do sh tools/fuzzrun -k $$f $(or $(FUZZ_SECONDS),600) || bad=1; done; exit $$bad

check: all
	@sh tests/run

bench: all
	@sh bench/run

bench-peers: all
	@sh bench/run bench/peers.sh

soak: all
	@sh bench/run bench/soak.sh

# As root: users and groups, programs under conf-home/bin, the queue.
# DESTDIR=/stage stages the files for a package; LINK_SENDMAIL=1 also
# points /usr/sbin/sendmail, /usr/lib/sendmail and /usr/bin/mailq here.
setup install: all
	sh tools/setup $(if $(DESTDIR),--destdir $(DESTDIR)) $(if $(LINK_SENDMAIL),--link-sendmail) $(B) $(CONF_HOME)

clean:
	rm -rf build build-* tests/tmp

-include $(wildcard $(B)/lib/*.d $(B)/prog/*.d $(B)/tobj/*.d $(B)/auto/*.d build-fuzz/lib/*.d build-fuzz/*.d)

# Running it on this machine without an init system (INSTALL has the
# long way): `make run` (root) installs daemontools and ucspi-tcp when
# missing, then setup, config, services, and starts svscan on
# conf-home/service; `make stop` stops what it started; `make config`
# writes the first control files and ~alias/.qmail-* when missing.
# NAME=host.example names the host (default: hostname -f); only a NAME
# given on the command line counts, not one in the environment.
RUN_NAME = $(if $(filter command line,$(origin NAME)),$(NAME))
.PHONY: run stop config
run: all
	sh tools/run $(B) $(CONF_HOME) $(RUN_NAME)

stop:
	sh tools/stop $(CONF_HOME)

config:
	sh tools/config $(CONF_HOME) $(RUN_NAME)
