# bench.mk -- the end-to-end benchmark: builds tools/bench/loadgen and
# tools/bench/sink, and `make bench` (QUICK=1: the short run) runs
# tools/bench/run.sh against passthrough, HAProxy, nginx and sniproxy.
# Included from the GNUmakefile; it uses its BUILD, OBJDIR, LIB and flags.

BENCH_TOOL_LIB_SRC := tools/bench/wire.c tools/bench/lat.c tools/bench/net.c \
                      tools/bench/args.c
BENCH_TOOL_LIB_OBJ := $(BENCH_TOOL_LIB_SRC:%.c=$(OBJDIR)/%.o)
BENCH_TOOLS        := $(BUILD)/bench/loadgen $(BUILD)/bench/sink

.PHONY: bench bench-tools

$(BENCH_TOOL_LIB_OBJ) $(OBJDIR)/tools/bench/loadgen.o $(OBJDIR)/tools/bench/sink.o: \
    $(FLAGS_STAMP)

$(BENCH_TOOLS): $(BUILD)/bench/%: $(OBJDIR)/tools/bench/%.o $(BENCH_TOOL_LIB_OBJ) $(LIB)
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  LD      $@"
	$(Q)$(LINK) -o $@ $^ $(LIBS) -lm -lpthread

bench-tools: $(BENCH_TOOLS)

# QUICK=1: a short run of the same matrix (under 3 minutes), written to
# docs/bench/results-quick.*; the full run writes docs/bench/results.*.
bench: $(BUILD)/passthrough $(BENCH_TOOLS)
	@tools/deps.sh bench
	@BUILD=$(BUILD) QUICK=$(QUICK) tools/bench/run.sh
