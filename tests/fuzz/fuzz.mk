# fuzz.mk -- the libFuzzer targets (tests/fuzz/*_fuzz.c), included by the
# GNUmakefile. clang compiles each target and the project sources it tests
# into $(BUILD)/fuzz/ with -fsanitize=fuzzer,address,undefined; the gcc
# objects are never reused. Needs clang and libclang-rt-14-dev.
#   make fuzz-build                 the binaries: $(BUILD)/fuzz/<target>_fuzz
#   make fuzz [FUZZ_SECONDS=60]     each target in turn for that long on its seeds
#                                   (tests/fuzz/corpus/<target>); what it finds goes to
#                                   $(BUILD)/fuzz/corpus/<target> and .../artifacts/<target>
#   make fuzz-smoke                 each target for a few seconds (tests/fuzz/smoke.sh)
ifndef FUZZ_MK_INCLUDED
FUZZ_MK_INCLUDED := 1

BUILD        ?= build
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_OBJDIR  := $(FUZZ_DIR)/obj
FUZZ_TARGETS := clienthello routes config confpeek proxyproto gateway

# The project's warning set when included; the same list when read alone.
FUZZ_WARNINGS := $(if $(WARNINGS),$(WARNINGS),-Wall -Wextra -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wcast-qual \
	-Wwrite-strings -Wformat=2 -Wvla -Wundef -Wimplicit-fallthrough)
# UBSan aborts (no recovery), so undefined behaviour is a crash libFuzzer keeps.
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -D_GNU_SOURCE -Icommon -Imaster -Itools/gateway -Itests/fuzz -g -O1 \
	$(FUZZ_SAN) $(FUZZ_WARNINGS) -MMD -MP

# What each target links besides its own file.
FUZZ_clienthello_SRC := common/clienthello.c
FUZZ_routes_SRC      := common/routes.c common/routes_lookup.c common/routes_alpn.c common/balance.c common/acl.c \
                        common/addr.c
FUZZ_config_SRC      := $(wildcard master/config*.c) common/confpeek.c common/routes.c common/routes_lookup.c \
                        common/routes_alpn.c common/balance.c common/acl.c \
                        common/addr.c common/sha256.c
FUZZ_config_LIBS     := -lconfig
FUZZ_confpeek_SRC    := common/confpeek.c
FUZZ_proxyproto_SRC  := common/proxyproto.c common/addr.c
# The render core only: watch.c and kube.c are the controller's loop and
# its API client (libcurl), which the render never calls.
FUZZ_gateway_SRC     := $(filter-out tools/gateway/main.c tools/gateway/watch.c tools/gateway/kube.c,\
                        $(wildcard tools/gateway/*.c))
FUZZ_gateway_LIBS    := -ljansson -lyaml -lconfig

FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%_fuzz)

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-check-flags

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@BUILD=$(BUILD) tests/fuzz/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	@BUILD=$(BUILD) tests/fuzz/smoke.sh

# Objects rebuild when the compiler or the flags change (WERROR=1 toggled).
FUZZ_FLAGS_NOW := $(FUZZ_CC) $(FUZZ_CFLAGS)
$(FUZZ_DIR)/.flags: fuzz-check-flags
	@:
fuzz-check-flags:
	@mkdir -p $(FUZZ_DIR)
	@if [ "$$(cat $(FUZZ_DIR)/.flags 2>/dev/null)" != '$(FUZZ_FLAGS_NOW)' ]; then \
		echo '$(FUZZ_FLAGS_NOW)' > $(FUZZ_DIR)/.flags; fi

# Project sources get libFuzzer's coverage instrumentation.
$(FUZZ_OBJDIR)/%.o: %.c $(FUZZ_DIR)/.flags
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  CC fuzz $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

# The targets' own files do not (sanitizers only): their reference code
# would be most of the edges, guide nothing about the project's code, and
# slow the runs (routes: 1,700 -> 5,000 exec/s; clienthello: 25k -> 33k).
$(FUZZ_OBJDIR)/tests/fuzz/%.o: tests/fuzz/%.c $(FUZZ_DIR)/.flags
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  CC fuzz $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

define FUZZ_TARGET_RULE
$(FUZZ_DIR)/$(1)_fuzz: $(FUZZ_OBJDIR)/tests/fuzz/$(1)_fuzz.o \
    $(FUZZ_$(1)_SRC:%.c=$(FUZZ_OBJDIR)/%.o)
	@[ "$$(Q)" = "" ] || echo "  LD fuzz $$@"
	$$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $(FUZZ_$(1)_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULE,$(t))))

-include $(shell find $(FUZZ_OBJDIR) -name '*.d' 2>/dev/null)

endif
