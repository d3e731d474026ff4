# sluice: build with only a C compiler and libc.
#
#   make            build every program and the unit tests into build/
#   make check      run the whole test suite (tests/run), ends "N passed, N failed";
#                   first installs the Debian packages it needs (as root) or
#                   names the missing ones (tools/packages)
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
#   make deb        a binary Debian package in build-deb/ (tools/mkdeb)
#   make clean      remove build outputs
#
# The compile and link commands are the first lines of conf-cc and
# conf-ld. When musl-gcc is on the PATH (Debian: musl-tools), the
# programs are built with it instead, linked statically (see "Compilers"
# below); `make MUSL=` builds everything with conf-cc and conf-ld.
# B names the build directory, CONF_HOME overrides conf-home
# (the tests build a private instance that way), EXTRA_CFLAGS and
# EXTRA_LDFLAGS add flags (the sanitizer build uses them). CC_CMD and
# LD_CMD given on the command line build everything, without musl.

SHELL = /bin/sh
B = build
CONF_CC := $(shell sed -n 1p conf-cc)
CONF_LD := $(shell sed -n 1p conf-ld)
CONF_HOME := $(shell sed -n 1p conf-home)
CONF_SPLIT := $(shell sed -n 1p conf-split)
EXTRA_CFLAGS =
EXTRA_LDFLAGS =
FUZZ_SECONDS =
FUZZ_CC = clang

# --- Compilers ---
# Starting a glibc program costs about a millisecond of CPU on a virtual
# machine (its start-up probes the CPU's features, which traps to the
# hypervisor), a static musl one under a tenth of that (DESIGN.md 13),
# and sluice starts several programs for every message. So every
# program is compiled with musl-gcc (conf-cc's flags, with each function
# and object in its own section) and linked static-pie (tools/musllink,
# else -static) with --gc-sections, except those in SYSCC_PROGS, built
# with conf-cc and conf-ld as before:
#  - programs that look users or groups up through the name service
#    (getpwnam, getpwuid, getpwent, getgrnam, getgrouplist), which must
#    see every source nsswitch.conf names (LDAP, sssd...): a static musl
#    program reads only /etc/passwd and /etc/group. sluice-getpw (mail
#    users), sluice-lspawn (the groups of mail users), sluice-inject and
#    sendmail (the user who sends), sluice-newrcpt (every account),
#    sluice-start and sluice-fsck (the role users). None of them is
#    started per message or connection on the SMTP path, except
#    sluice-getpw per delivery when users/cdb does not know the user;
#  - programs that link OpenSSL (or any library built for the system's
#    libc): add them here; sluice-checkpassword links libcrypt (crypt(3)
#    of libxcrypt, part of the base system) and reads the shadow file
#    through the name service;
#  - the long-running sluice-send, sluice-clean and sluice-rspawn: they
#    start once, so musl saves them nothing, and glibc's malloc and
#    memcpy are the faster ones; the test of the retry schedule runs
#    sluice-send under libfaketime (LD_PRELOAD), which a static program
#    ignores.
# tests/sh/05-exec.sh checks that every program not in this list is a
# static musl program and uses no name service function. The unit
# tests and test helpers are built with musl too; tests/run's sanitizer
# build and the fuzzers (clang) use the system's libc.
SYSCC_PROGS = sluice-getpw sluice-lspawn sluice-inject sendmail sluice-newrcpt sluice-start sluice-fsck sluice-send sluice-clean sluice-rspawn sluice-checkpassword
MUSL = musl-gcc
MUSL_GCC := $(if $(filter command line,$(origin CC_CMD) $(origin LD_CMD)),,$(if $(MUSL),$(shell command -v $(MUSL) 2> /dev/null)))
ifneq ($(MUSL_GCC),)
CC_CMD := $(MUSL_GCC) $(wordlist 2,$(words $(CONF_CC)),$(CONF_CC)) -ffunction-sections -fdata-sections
LD_CMD := sh tools/musllink $(MUSL_GCC) -Wl,--gc-sections -Wl,-z,relro -Wl,-z,now
SYS_B = $(B)/sys
COMPILERS = programs: musl ($(MUSL_GCC), static: tools/musllink); $(SYSCC_PROGS): $(firstword $(CONF_CC)) (conf-cc)
else
CC_CMD := $(CONF_CC)
LD_CMD := $(CONF_LD)
SYS_B = $(B)
COMPILERS = programs: $(firstword $(CC_CMD)) ($(if $(filter command line,$(origin CC_CMD) $(origin LD_CMD)),CC_CMD and LD_CMD given,conf-cc; $(if $(MUSL),$(MUSL) not found,MUSL is empty)))
endif
# the system compiler: conf-cc and conf-ld, or CC_CMD and LD_CMD
SYS_CC_CMD = $(if $(MUSL_GCC),$(CONF_CC),$(CC_CMD))
SYS_LD_CMD = $(if $(MUSL_GCC),$(CONF_LD),$(LD_CMD))

LIBSRC := $(sort $(wildcard src/lib/*.c))
LIBOBJ := $(patsubst src/lib/%.c,$(B)/lib/%.o,$(LIBSRC))
SYSLIBOBJ := $(patsubst src/lib/%.c,$(SYS_B)/lib/%.o,$(LIBSRC))
PROGSRC := $(sort $(wildcard src/*.c))
PROGS := $(patsubst src/%.c,$(B)/%,$(PROGSRC))
SYSPROGS := $(filter $(patsubst %,$(B)/%,$(SYSCC_PROGS)),$(PROGS))
MAINPROGS := $(filter-out $(SYSPROGS),$(PROGS))
UNITSRC := $(sort $(wildcard tests/unit/test_*.c))
UNITS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNITSRC))
FUZZSRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZSRC))
HELPSRC := $(sort $(wildcard tests/helpers/*.c))
HELPERS := $(patsubst tests/helpers/%.c,$(B)/tests/%,$(HELPSRC))

CFLAGS_ALL = $(EXTRA_CFLAGS) -Isrc/lib -I$(B)/auto -MMD -MP

# Programs that are scripts (sluice-report: python3, a report tool run
# once a day), with conf-home put in (auto.c changes when it does).
SCRIPTS = $(B)/sluice-report

all: $(PROGS) $(SCRIPTS) units tls crypto
$(B)/sluice-report: src/sluice-report.py $(B)/auto/auto.c
	@mkdir -p $(@D)
	sed 's|@HOME@|$(CONF_HOME)|' src/sluice-report.py > $@.tmp && chmod 755 $@.tmp && mv $@.tmp $@

# The TLS programs (src/tls/sluice-*.c) and the OpenSSL set-up they
# share (the other src/tls/*.c): the only code that links OpenSSL,
# built like the SYSCC_PROGS with the system compiler (OpenSSL is built
# for the system's libc) and that build of the library, -lssl -lcrypto.
# Built only when libssl-dev is installed; without it `make` builds
# everything else and says so in one line. The core library never
# links OpenSSL.
TLS_HAVE := $(shell test -f /usr/include/openssl/ssl.h && echo yes)
TLS_LIBS = -lssl -lcrypto
TLS_MAINSRC := $(sort $(wildcard src/tls/sluice-*.c))
TLS_LIBSRC := $(filter-out $(TLS_MAINSRC),$(sort $(wildcard src/tls/*.c)))
TLS_LIBOBJ := $(patsubst src/tls/%.c,$(B)/tls/%.o,$(TLS_LIBSRC))
TLS_PROGS := $(patsubst src/tls/%.c,$(B)/%,$(TLS_MAINSRC))

ifeq ($(TLS_HAVE),yes)
tls: $(TLS_PROGS)
else
tls:
	@echo "make: libssl-dev is not installed: the TLS programs ($(notdir $(TLS_PROGS))) were not built"
endif

$(B)/tls/%.o: src/tls/%.c $(B)/auto/compilers
	@mkdir -p $(@D)
	$(SYS_CC_CMD) $(CFLAGS_ALL) -Isrc/tls -c -o $@ $<

$(TLS_PROGS): $(B)/%: $(B)/tls/%.o $(TLS_LIBOBJ) $(SYS_B)/libsluice.a
	$(SYS_LD_CMD) $(EXTRA_LDFLAGS) -o $@ $< $(TLS_LIBOBJ) $(SYS_B)/libsluice.a $(TLS_LIBS)

# The programs that need libcrypto but no TLS (src/crypto/sluice-*.c:
# sluice-dkimsign, sluice-dkimkey, sluice-authcheck) and their libcrypto
# code (the other src/crypto/*.c), built like the TLS programs with the
# system compiler, linked with libcrypto only (no libssl), and only when
# libssl-dev (which holds libcrypto's headers) is installed; their
# parsers are in src/lib, plain C.
CRYPTO_LIBS = -lcrypto
CRYPTO_MAINSRC := $(sort $(wildcard src/crypto/sluice-*.c))
CRYPTO_LIBSRC := $(filter-out $(CRYPTO_MAINSRC),$(sort $(wildcard src/crypto/*.c)))
CRYPTO_LIBOBJ := $(patsubst src/crypto/%.c,$(B)/crypto/%.o,$(CRYPTO_LIBSRC))
CRYPTO_PROGS := $(patsubst src/crypto/%.c,$(B)/%,$(CRYPTO_MAINSRC))

ifeq ($(TLS_HAVE),yes)
crypto: $(CRYPTO_PROGS)
else
crypto:
	@echo "make: libssl-dev is not installed: the libcrypto programs ($(notdir $(CRYPTO_PROGS))) were not built"
endif

$(B)/crypto/%.o: src/crypto/%.c $(B)/auto/compilers
	@mkdir -p $(@D)
	$(SYS_CC_CMD) $(CFLAGS_ALL) -Isrc/crypto -c -o $@ $<

$(CRYPTO_PROGS): $(B)/%: $(B)/crypto/%.o $(CRYPTO_LIBOBJ) $(SYS_B)/libsluice.a
	$(SYS_LD_CMD) $(EXTRA_LDFLAGS) -o $@ $< $(CRYPTO_LIBOBJ) $(SYS_B)/libsluice.a $(CRYPTO_LIBS)

units: $(UNITS) $(HELPERS)

.PHONY: all units tls crypto check fuzz fuzz-long fuzzers bench bench-peers soak setup install clean

# Values of the conf- files compiled into the programs. Rewritten only
# when they change, so a rebuild does not relink everything.
$(B)/auto/auto.c: conf-home conf-split conf-users FORCE
	@mkdir -p $(@D)
	@sh tools/mkauto "$(CONF_HOME)" "$(CONF_SPLIT)" conf-users > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

# The compile and link commands in use, rewritten only when they change
# (musl-gcc installed or removed, conf-cc edited): every object depends
# on it, so a change rebuilds everything. Says which compiler builds
# what, in one line.
$(B)/auto/compilers: conf-cc conf-ld FORCE
	@mkdir -p $(@D)
	@echo 'sluice: $(COMPILERS)'
	@printf '%s\n' '$(CC_CMD) $(EXTRA_CFLAGS)' '$(LD_CMD) $(EXTRA_LDFLAGS) $(MUSL_START)' '$(SYS_CC_CMD)' '$(SYS_LD_CMD)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

FORCE:

$(B)/auto/auto.o: $(B)/auto/auto.c src/lib/auto.h $(B)/auto/compilers
	$(CC_CMD) $(CFLAGS_ALL) -c -o $@ $<

$(B)/lib/%.o: src/lib/%.c $(B)/auto/compilers
	@mkdir -p $(@D)
	$(CC_CMD) $(CFLAGS_ALL) -c -o $@ $<

$(B)/libsluice.a: $(LIBOBJ) $(B)/auto/auto.o
	@rm -f $@
	ar rcs $@ $^

$(B)/prog/%.o: src/%.c $(B)/auto/compilers
	@mkdir -p $(@D)
	$(CC_CMD) $(CFLAGS_ALL) -c -o $@ $<

# With musl, the library and the SYSCC_PROGS once more with the system
# compiler, in $(B)/sys; without, $(SYS_B) is $(B) and these are the
# rules above.
ifneq ($(MUSL_GCC),)
$(SYS_B)/auto/auto.o: $(B)/auto/auto.c src/lib/auto.h $(B)/auto/compilers
	@mkdir -p $(@D)
	$(SYS_CC_CMD) $(CFLAGS_ALL) -c -o $@ $<

$(SYS_B)/lib/%.o: src/lib/%.c $(B)/auto/compilers
	@mkdir -p $(@D)
	$(SYS_CC_CMD) $(CFLAGS_ALL) -c -o $@ $<

$(SYS_B)/libsluice.a: $(SYSLIBOBJ) $(SYS_B)/auto/auto.o
	@rm -f $@
	ar rcs $@ $^

$(SYS_B)/prog/%.o: src/%.c $(B)/auto/compilers
	@mkdir -p $(@D)
	$(SYS_CC_CMD) $(CFLAGS_ALL) -c -o $@ $<
endif

# With musl, every program also gets src/musl/relro.c: musl's static
# start-up leaves the RELRO range writable, this makes it read-only
# before main(), as conf-ld's -z relro -z now promise.
ifneq ($(MUSL_GCC),)
MUSL_START = $(B)/musl/relro.o
$(B)/musl/%.o: src/musl/%.c $(B)/auto/compilers
	@mkdir -p $(@D)
	$(CC_CMD) $(CFLAGS_ALL) -c -o $@ $<
endif

$(MAINPROGS): $(B)/%: $(B)/prog/%.o $(B)/libsluice.a $(MUSL_START) $(if $(MUSL_GCC),tools/musllink)
	$(LD_CMD) $(EXTRA_LDFLAGS) $(if $(filter $*,$(STATIC_PROGS)),$(STATIC_LDFLAGS)) -o $@ $< $(MUSL_START) $(B)/libsluice.a

$(SYSPROGS): $(B)/%: $(SYS_B)/prog/%.o $(SYS_B)/libsluice.a
	$(SYS_LD_CMD) $(EXTRA_LDFLAGS) $(if $(filter $*,$(STATIC_PROGS)),$(STATIC_LDFLAGS)) -o $@ $< $(SYS_B)/libsluice.a $(PROG_LIBS_$*)

# Libraries of single programs beyond libc (only the system's own).
PROG_LIBS_sluice-checkpassword = -lcrypt

# Without musl: programs run once per message, linked statically with
# the system's libc: no dynamic loader, no shared libraries to map and
# relocate at each start. They must not use the name service (getpw*,
# getaddrinfo), which a static glibc program can only reach by loading
# shared libraries after all. STATIC_LDFLAGS is -static-pie when the
# link command accepts it (and is not a sanitizer build), else empty:
# conf-ld alone. `make STATIC_LDFLAGS=` links them dynamically. With
# musl every program outside SYSCC_PROGS is static anyway.
STATIC_PROGS = sluice-queue
STATIC_LDFLAGS := $(if $(MUSL_GCC)$(findstring -fsanitize,$(LD_CMD) $(EXTRA_LDFLAGS)),,$(shell \
  printf 'int main(void) { return 0; }\n' | $(LD_CMD) -static-pie -x c -o /dev/null - > /dev/null 2>&1 && echo -static-pie))

$(B)/tobj/%.o: tests/unit/%.c $(B)/auto/compilers
	@mkdir -p $(@D)
	$(CC_CMD) $(CFLAGS_ALL) -Itests/unit -c -o $@ $<

$(B)/tobj/%.o: tests/helpers/%.c $(B)/auto/compilers
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

# The Debian packages the tests need first (tools/packages): as root
# installs the missing ones, as anyone else names them in one line and
# stops. Then the build, then the suite.
check:
	@sh tools/packages check
	@$(MAKE) --no-print-directory all
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

# A binary Debian package, with dpkg-deb alone (tools/mkdeb; maintainer
# scripts in debian/): the programs built for /var/sluice into
# build-deb/build, the package in build-deb/.
.PHONY: deb
deb:
	$(MAKE) B=build-deb/build CONF_HOME=/var/sluice all
	sh tools/mkdeb build-deb/build build-deb

-include $(wildcard $(B)/lib/*.d $(B)/prog/*.d $(B)/tls/*.d $(B)/tls/lib/*.d $(B)/crypto/*.d $(B)/tobj/*.d $(B)/auto/*.d $(B)/sys/*/*.d $(B)/musl/*.d build-fuzz/lib/*.d build-fuzz/*.d)

# Running it on this machine without an init system (INSTALL has the
# long way): `make run` (root) installs daemontools, ucspi-tcp and
# musl-tools when missing, builds, then setup, config, services, and
# starts svscan on conf-home/service; `make stop` stops what it
# started; `make config` writes the first control files and
# ~alias/.qmail-* when missing.
# NAME=host.example names the host (default: hostname -f); only a NAME
# given on the command line counts, not one in the environment.
RUN_NAME = $(if $(filter command line,$(origin NAME)),$(NAME))
.PHONY: run stop config
run:
	sh tools/run --packages
	$(MAKE) all
	sh tools/run $(B) $(CONF_HOME) $(RUN_NAME)

stop:
	sh tools/stop $(CONF_HOME)

config:
	sh tools/config $(CONF_HOME) $(RUN_NAME)
