# smpvisor: non-recursive build. `make V=1` shows the commands.
#
#   make demo       the main job: a 4-vCPU two-node PostgreSQL guest running pgbench
#   make            build build/smpvisor, the test guest and the test programs
#   make test       unit tests + core system tests (nested test host if needed)
#   make test-all   everything, slow system tests included
#   make bench      benchmarks (bench/README.md)
#   make deps       install missing Debian packages (called by the others)

CC      ?= cc
BUILD   := build
CFLAGS  := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
           -Wno-unused-parameter -Iinclude -pthread -MMD -MP $(EXTRA_CFLAGS)
LDLIBS  := -ljansson -lnuma -luring -lpthread
PYTHON  := /usr/bin/python3

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
BUILD   := build/asan
endif

ifneq ($(V),1)
Q := @
E := @echo
else
E := @true
endif

# The core is a static library so tests and benchmarks link the real code.
CORE_SRCS := $(sort $(wildcard kernel/*.c smp/*.c irq/*.c vmm/*.c vmm/devices/*/*.c))
CORE_SRCS := $(filter-out vmm/main.c,$(CORE_SRCS))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libsmpvisor.a

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
KVM_SRCS  := $(sort $(wildcard tests/kvm/*.c))
KVM_BINS  := $(KVM_SRCS:tests/kvm/%.c=$(BUILD)/tests/kvm/%)
AGENT     := $(BUILD)/guest/agent
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%) $(BUILD)/bench/firstrun.so

all: deps-check $(BUILD)/smpvisor $(UNIT_BINS) $(KVM_BINS) $(AGENT) $(BENCH_BINS)

# Order-only on deps-check: with -j, nothing compiles before the headers
# of a fresh machine's packages are installed.
$(BUILD)/obj/%.o: %.c | deps-check
	$(E) "  CC      $<"
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(CORE_OBJS)
	$(E) "  AR      $@"
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/smpvisor: $(BUILD)/obj/vmm/main.o $(LIB)
	$(E) "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	$(E) "  LD      $@"
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/kvm/%: $(BUILD)/obj/tests/kvm/%.o $(LIB)
	$(E) "  LD      $@"
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Benchmark programs (bench/README.md) link the core like the KVM tests;
# firstrun.so is preloaded into a VMM to time its first KVM_RUN.
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	$(E) "  LD      $@"
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/firstrun.so: bench/preload/firstrun.c
	$(E) "  CC      $@"
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

# The virtqueue fuzz harness: linked into test_virtq (which replays the
# corpus) and, with clang's libFuzzer, into build/fuzz/virtq (`make fuzz`).
$(BUILD)/tests/unit/test_virtq: $(BUILD)/obj/tests/fuzz/virtq_harness.o
FUZZ_SRCS := tests/fuzz/fuzz_virtq.c tests/fuzz/virtq_harness.c \
	     vmm/devices/virtio/queue.c vmm/memory.c vmm/log.c
$(BUILD)/fuzz/virtq: $(FUZZ_SRCS)
	$(E) "  FUZZ    $@"
	@mkdir -p $(dir $@)
	$(Q)clang -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror \
		-Wno-unused-parameter -Iinclude -fsanitize=fuzzer,address,undefined \
		-o $@ $(FUZZ_SRCS)
fuzz: $(BUILD)/fuzz/virtq

# The guest agent runs as PID 1 in the test guest: static, no sanitizers.
$(AGENT): tests/guest/agent.c | deps-check
	$(E) "  CC      $@ (static)"
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -pthread -o $@ $<

deps:
	$(Q)scripts/deps.sh

# Cheap check so plain `make` installs what is missing on a fresh machine.
deps-check:
	$(Q)scripts/deps.sh

unit: deps-check $(UNIT_BINS)
	$(Q)$(PYTHON) scripts/run-unit.py $(UNIT_BINS)

systest: all
	$(Q)$(PYTHON) -m pytest -q -ra --durations=25 -m "not slow" tests/system

test: all
	$(Q)$(PYTHON) scripts/run-unit.py $(UNIT_BINS)
	$(Q)$(PYTHON) -m pytest -q -ra --durations=25 -m "not slow" tests/system

test-all: all
	$(Q)$(PYTHON) scripts/run-unit.py $(UNIT_BINS)
	$(Q)$(PYTHON) -m pytest -q -ra --durations=25 tests/system

# Unit tests under ASan/UBSan and under valgrind.
test-asan:
	$(Q)$(MAKE) SANITIZE=1 $(patsubst $(BUILD)/%,build/asan/%,$(UNIT_BINS))
	$(Q)$(PYTHON) scripts/run-unit.py $(patsubst $(BUILD)/%,build/asan/%,$(UNIT_BINS))

test-valgrind: $(UNIT_BINS)
	$(Q)$(PYTHON) scripts/run-unit.py --valgrind $(UNIT_BINS)

demo: all
	$(Q)$(PYTHON) scripts/demo.py

bench: all
	$(Q)bench/run all $(if $(QUICK),--quick)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/asan $(BUILD)/smpvisor $(BUILD)/libsmpvisor.a \
	       $(BUILD)/tests $(BUILD)/bench $(BUILD)/guest/agent

.PHONY: fuzz demo all deps deps-check unit systest test test-all test-asan test-valgrind bench clean
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
