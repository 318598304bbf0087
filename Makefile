# pam_cgbpf — plain Makefile. Run `make help` for the targets.

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
BUILD   := build

PKGS := gcc make clang llvm libclang-rt-14-dev libbpf-dev libpam0g-dev bpftool libelf-dev zlib1g-dev pkg-config \
	nftables linux-perf \
	pamtester openssh-server openssh-client iperf3 libpam-wrapper valgrind iproute2 \
	python3 man-db groff-base procps passwd login util-linux \
	systemd-container debootstrap debhelper dpkg-dev fakeroot lintian

PAM_LIBDIR := $(shell pkg-config --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)
SECUREDIR  ?= $(PAM_LIBDIR)/security
SBINDIR    ?= /usr/sbin
MANDIR     ?= /usr/share/man
CONFDIR    ?= /etc/security

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -I$(BUILD) -Ipam_cgbpf $(WARN)
# Every object records the headers it includes (build/**/*.d), so a changed header rebuilds it.
DEPFLAGS = -MMD -MP -MF $@.d
LDLIBS_BPF := -lbpf -lelf -lz
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I/usr/include/$(MULTIARCH) -Ipam_cgbpf \
	-Wall -Werror

# Sanitizer build: make SAN=1 (objects go to build/san).
ifeq ($(SAN),1)
BUILD   := build/san
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

# The loader (pam_cgbpf/loader.h): the only code that uses libbpf's object layer. The module
# dlopen()s it as pam_cgbpf/loader.so (loader_open.c) when it must load a program; cgbpfctl,
# the tests and the benchmarks link it in (loader_static.c). libcgbpf.a holds neither.
LOADER_SRCS := pam_cgbpf/loader.c pam_cgbpf/loader_static.c
LIB_SRCS  := $(filter-out pam_cgbpf/pam_edge.c pam_cgbpf/cgbpfctl.c pam_cgbpf/loader_gen.c \
	pam_cgbpf/loader_open.c $(LOADER_SRCS),$(wildcard pam_cgbpf/*.c))
LIB_OBJS  := $(patsubst pam_cgbpf/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LOADER_OBJS := $(patsubst pam_cgbpf/%.c,$(BUILD)/obj/%.o,$(LOADER_SRCS))
FAULT_OBJS := $(patsubst pam_cgbpf/%.c,$(BUILD)/fault/%.o,$(LIB_SRCS) pam_cgbpf/pam_edge.c \
	pam_cgbpf/loader_open.c)
BPF_SRCS  := $(wildcard pam_cgbpf/bpf/*.bpf.c)
SKELS     := $(patsubst pam_cgbpf/bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/%,$(HELPER_SRCS))
TEST_BPF_SRCS := $(wildcard tests/bpf/*.bpf.c)
TEST_BPF_OBJS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/tests/bpf/%.bpf.o,$(TEST_BPF_SRCS))
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps deps-if-needed check demo install uninstall bench tests unit unit-tests clean \
	help format fuzz fuzz-build deb soak

all: $(BUILD)/pam_cgbpf.so $(BUILD)/pam_cgbpf/loader.so $(BUILD)/cgbpfctl

help:
	@echo "make            build build/pam_cgbpf.so and build/cgbpfctl"
	@echo "make deps       install the Debian packages needed to build and test"
	@echo "make unit       build and run the pure unit tests (no root needed)"
	@echo "make check      build and run the whole test suite (as root)"
	@echo "make demo       a sandboxed session, shown step by step (as root)"
	@echo "make install    install module, cgbpfctl, man pages, example policy (DESTDIR honoured)"
	@echo "make uninstall  remove what install put there"
	@echo "make bench      run the benchmarks in bench/"
	@echo "make deb        build the Debian package build/libpam-cgbpf_<version>_<arch>.deb"
	@echo "make soak       10,000 sessions under fire, then check nothing leaked (as root)"

# ---- dependencies -----------------------------------------------------------------------------
deps:
	@missing=$$(for p in $(PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null || exit 1; \
	else echo "all build and test packages present"; fi

deps-if-needed:
	@command -v $(CLANG) >/dev/null && command -v $(BPFTOOL) >/dev/null && \
		command -v pamtester >/dev/null && [ -f /usr/include/bpf/libbpf.h ] && \
		[ -f /usr/include/security/pam_modules.h ] && command -v sshd >/dev/null && \
		command -v iperf3 >/dev/null && command -v valgrind >/dev/null && \
		command -v systemd-nspawn >/dev/null && command -v debootstrap >/dev/null && \
		[ -n "$$(ls /usr/lib/*/libpam_wrapper.so 2>/dev/null)" ] || $(MAKE) --no-print-directory deps

# ---- BPF --------------------------------------------------------------------------------------
$(BUILD)/bpf/%.bpf.o: pam_cgbpf/bpf/%.bpf.c $(wildcard pam_cgbpf/bpf/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# What the module must know of the loader's build without linking it: the engine digest of the
# filter object (loader_digest.h) and a build tag, which loader_open.c compares with the
# loader's own. The tag hashes the name and bytes of every source either side is compiled
# from (all of pam_cgbpf/ and pam_cgbpf/bpf/, the version scripts, this Makefile, which picks
# each side's objects and flags) and of the BPF objects the loader embeds: code built into
# both (filter_load.c, loader_elf.c, policy.c) must be of one build too, not only the headers.
# The whole directory rather than the two object lists, so that a file moved from one list to
# the other, or a new one, cannot fall outside it.
LOADER_ABI_INPUTS := $(sort $(wildcard pam_cgbpf/*.c pam_cgbpf/*.h pam_cgbpf/*.map \
	pam_cgbpf/bpf/*.c pam_cgbpf/bpf/*.h) Makefile) \
	$(patsubst pam_cgbpf/bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
$(BUILD)/loader_gen: pam_cgbpf/loader_gen.c pam_cgbpf/loader_digest.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# Written whole, then renamed: a parallel make never compiles against half of it.
$(BUILD)/engine_build.h: $(BUILD)/loader_gen $(LOADER_ABI_INPUTS)
	$(BUILD)/loader_gen $(BUILD)/bpf/filter.bpf.o \
		"$$(sha256sum $(LOADER_ABI_INPUTS) | sha256sum | cut -c1-32)" >$@.tmp && mv $@.tmp $@

$(BUILD)/tests/bpf/%.bpf.o: tests/bpf/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# ---- user space -------------------------------------------------------------------------------
$(BUILD)/obj/%.o: pam_cgbpf/%.c | $(SKELS) $(BUILD)/engine_build.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# The fault-injection build: the same sources with CGBPF_FAULT_INJECTION, for tests only.
$(BUILD)/fault/%.o: pam_cgbpf/%.c | $(SKELS) $(BUILD)/engine_build.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -DCGBPF_FAULT_INJECTION -c $< -o $@

# Made afresh: ar r keeps members whose source left the list (loader_open.o, once in it).
$(BUILD)/libcgbpf.a: $(LIB_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/libcgbpf_loader.a: $(LOADER_OBJS)
	rm -f $@ && $(AR) rcs $@ $^

# What links the loader in: an archive, so that a program that loads nothing (bench/login_bench)
# does not get libbpf either.
LINK_LIBS := -Wl,--start-group $(BUILD)/libcgbpf.a $(BUILD)/libcgbpf_loader.a -Wl,--end-group

# -z nodelete: PAM applications dlopen and dlclose modules per handle; reloading the module
# at every pam_start cost ~0.8 ms a session in bench/session_bench. No libbpf here: a login
# whose programs are pinned already never maps it (loader.h).
$(BUILD)/pam_cgbpf.so: $(BUILD)/obj/pam_edge.o $(BUILD)/obj/loader_open.o $(BUILD)/libcgbpf.a \
		pam_cgbpf/pam_cgbpf.map
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=pam_cgbpf/pam_cgbpf.map -Wl,-z,defs \
		-Wl,-z,nodelete \
		-o $@ $(BUILD)/obj/pam_edge.o $(BUILD)/obj/loader_open.o $(BUILD)/libcgbpf.a -lpam

# The loader, found beside the module that loads it (loader_open.c); -z nodelete as the module.
$(BUILD)/pam_cgbpf/loader.so: $(LOADER_OBJS) $(BUILD)/libcgbpf.a pam_cgbpf/loader.map
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=pam_cgbpf/loader.map -Wl,-z,defs \
		-Wl,-z,nodelete -o $@ $(LOADER_OBJS) $(BUILD)/libcgbpf.a $(LDLIBS_BPF)

$(BUILD)/cgbpfctl: $(BUILD)/obj/cgbpfctl.o $(BUILD)/libcgbpf.a $(BUILD)/libcgbpf_loader.a
	$(CC) $(LDFLAGS) -o $@ $< $(LINK_LIBS) $(LDLIBS_BPF)

$(BUILD)/tests/pam_cgbpf_fault.so: $(FAULT_OBJS) pam_cgbpf/pam_cgbpf.map
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=pam_cgbpf/pam_cgbpf.map -Wl,-z,defs \
		-o $@ $(FAULT_OBJS) -lpam

# The fault build's module looks for its loader beside itself too (the loader has no faults).
$(BUILD)/tests/pam_cgbpf/loader.so: $(BUILD)/pam_cgbpf/loader.so
	@mkdir -p $(@D)
	cp $< $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcgbpf.a $(BUILD)/libcgbpf_loader.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LINK_LIBS) $(LDLIBS_BPF)

$(BUILD)/tests/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lpam $(LDLIBS_BPF)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libcgbpf.a $(BUILD)/libcgbpf_loader.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LINK_LIBS) -lpam $(LDLIBS_BPF)

tests: all $(UNIT_BINS) $(HELPER_BINS) $(TEST_BPF_OBJS) $(BUILD)/tests/pam_cgbpf_fault.so \
	$(BUILD)/tests/pam_cgbpf/loader.so $(BENCH_BINS)

# ---- the targets of README.md (make help lists them) --------------------------------------
# The unit tests run twice: as built, and built with ASan and UBSan (build/san).
check: deps-if-needed
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory SAN=1 unit-tests
	@SAN_BUILD=build/san bash tests/run.sh

unit-tests: $(UNIT_BINS)

# The pure suites (parsing, resolution, ledger encoding, filter compiling, arguments): no root,
# no kernel state, so they run as any user on a fresh clone.
UNIT_PURE := $(patsubst %,$(BUILD)/tests/test_%,args filter_compile layout ledger ledger_settings \
	loader_elf loader_path placement_choice policy resolve)
unit: $(UNIT_PURE) $(TEST_BPF_OBJS)
	@pass=0; fail=0; for t in $(UNIT_PURE); do \
		out=$$($$t); rc=$$?; echo "$$out"; \
		pass=$$((pass + $$(echo "$$out" | grep -c '^PASS: '))); \
		f=$$(echo "$$out" | grep -c '^FAIL: '); [ $$rc -ne 0 ] && [ $$f -eq 0 ] && f=1; \
		fail=$$((fail + f)); \
	done; echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]

demo: deps-if-needed
	@$(MAKE) --no-print-directory all $(HELPER_BINS)
	@bash conf/demo.sh

# Not part of check: 10,000 sessions under fire, then nothing may be left (tests/soak/soak.sh).
soak: deps-if-needed
	@$(MAKE) --no-print-directory tests
	@bash tests/soak/soak.sh

bench: deps-if-needed
	@$(MAKE) --no-print-directory tests
	@bash bench/run.sh

# Fuzz the policy parser with libFuzzer for FUZZ_SECONDS (default 60). make check runs it too,
# through tests/fuzz/10_fuzz.sh.
FUZZ_SECONDS ?= 60
FUZZ_BIN := $(BUILD)/fuzz/fuzz_policy
$(FUZZ_BIN): tests/fuzz/fuzz_policy.c pam_cgbpf/policy.c pam_cgbpf/resolve.c pam_cgbpf/error.c \
		$(HDRS) | $(SKELS)
	@mkdir -p $(@D)
	$(CLANG) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Ipam_cgbpf \
		-o $@ tests/fuzz/fuzz_policy.c pam_cgbpf/policy.c pam_cgbpf/resolve.c pam_cgbpf/error.c

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@mkdir -p $(BUILD)/fuzz/corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) $(BUILD)/fuzz/corpus tests/fuzz/corpus

install: all
	install -d $(DESTDIR)$(SECUREDIR)/pam_cgbpf $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(CONFDIR)
	install -m 0644 $(BUILD)/pam_cgbpf.so $(DESTDIR)$(SECUREDIR)/pam_cgbpf.so
	install -m 0644 $(BUILD)/pam_cgbpf/loader.so $(DESTDIR)$(SECUREDIR)/pam_cgbpf/loader.so
	install -m 0755 $(BUILD)/cgbpfctl $(DESTDIR)$(SBINDIR)/cgbpfctl
	install -m 0644 man/pam_cgbpf.8 man/cgbpfctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/pam_cgbpf.conf.5 $(DESTDIR)$(MANDIR)/man5/
	@if [ -e $(DESTDIR)$(CONFDIR)/pam_cgbpf.conf ]; then \
		echo "keeping existing $(DESTDIR)$(CONFDIR)/pam_cgbpf.conf"; \
	else install -m 0644 conf/pam_cgbpf.conf $(DESTDIR)$(CONFDIR)/pam_cgbpf.conf; fi

# The policy file is the administrator's: uninstall removes it only if it is still the example.
uninstall:
	rm -f $(DESTDIR)$(SECUREDIR)/pam_cgbpf.so $(DESTDIR)$(SECUREDIR)/pam_cgbpf/loader.so \
		$(DESTDIR)$(SBINDIR)/cgbpfctl \
		$(DESTDIR)$(MANDIR)/man8/pam_cgbpf.8 $(DESTDIR)$(MANDIR)/man8/cgbpfctl.8 \
		$(DESTDIR)$(MANDIR)/man5/pam_cgbpf.conf.5
	-rmdir $(DESTDIR)$(SECUREDIR)/pam_cgbpf 2>/dev/null
	@if cmp -s conf/pam_cgbpf.conf $(DESTDIR)$(CONFDIR)/pam_cgbpf.conf; then \
		rm -f $(DESTDIR)$(CONFDIR)/pam_cgbpf.conf; \
	elif [ -e $(DESTDIR)$(CONFDIR)/pam_cgbpf.conf ]; then \
		echo "keeping modified $(DESTDIR)$(CONFDIR)/pam_cgbpf.conf"; fi

# ---- the Debian package (INTERFACE.md §6) ---------------------------------------------------------
# dpkg-buildpackage runs in a copy of the tree under build/, so that it leaves nothing in the
# source tree; the .deb, .buildinfo and .changes land in build/.
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
DEB_ARCH    = $(shell dpkg --print-architecture 2>/dev/null)
DEB         = build/libpam-cgbpf_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_INPUTS := Makefile README.md $(wildcard pam_cgbpf/* pam_cgbpf/bpf/* man/* conf/* tests/unit/* \
	debian/* debian/*/*)

deb: $(DEB)

$(DEB): $(DEB_INPUTS)
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
		{ echo "make deb needs dpkg-dev and debhelper: run make deps" >&2; exit 1; }
	rm -rf build/deb-src
	mkdir -p build/deb-src
	tar -cf - --exclude=./build --exclude=./.git . | tar -C build/deb-src -xf -
	cd build/deb-src && dpkg-buildpackage --build=binary --unsigned-source --unsigned-changes
	rm -rf build/deb-src
	@echo "built $@"

format:
	clang-format -i pam_cgbpf/*.c pam_cgbpf/*.h pam_cgbpf/bpf/*.c pam_cgbpf/bpf/*.h tests/*/*.c \
		bench/*.c

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
