# smpvisor: non-recursive build. `make V=1` shows the commands.
#
#   make demo       the main job: a 4-vCPU two-node PostgreSQL guest running pgbench
#   make            build build/smpvisor, the test guest and the test programs
#   make test       layer check, unit tests + core system tests (nested test host if needed)
#   make check-layers  grep proves the folder DAG lib <- kernel <- irq <- smp <- vmm
#   make test-all   everything, slow system tests included
#   make bench      benchmarks (bench/README.md)
#   make deps       install missing Debian packages (called by the others)

CC      ?= cc
BUILD   ?= build
CFLAGS  := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
           -Wno-unused-parameter -Iinclude -pthread -MMD -MP $(EXTRA_CFLAGS)
LDLIBS  := -ljansson -lnuma -luring -lseccomp -lpthread
PYTHON  := /usr/bin/python3

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
BUILD   := build/asan
endif

# ThreadSanitizer (make test-tsan): its own objects, like SANITIZE=1.
# GCC warns that TSan does not model atomic_thread_fence (the virtqueue's
# barriers against the guest); a race it misses there shows as a report.
ifeq ($(SANITIZE),thread)
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan
LDFLAGS += -fsanitize=thread
BUILD   := build/tsan
endif

ifneq ($(V),1)
Q := @
E := @echo
else
E := @true
endif

# The core is a static library so tests and benchmarks link the real code.
CORE_SRCS := $(sort $(wildcard lib/*.c kernel/*.c irq/*.c smp/*.c vmm/*.c vmm/devices/*/*.c))
CORE_SRCS := $(filter-out vmm/main.c,$(CORE_SRCS))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libsmpvisor.a

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
KVM_SRCS  := $(filter-out tests/kvm/harness.c,$(sort $(wildcard tests/kvm/*.c)))
KVM_BINS  := $(KVM_SRCS:tests/kvm/%.c=$(BUILD)/tests/kvm/%)
# The tiny-guest harness the KVM programs and the benchmarks share.
KVM_HARNESS := $(BUILD)/obj/tests/kvm/harness.o
AGENT     := $(BUILD)/guest/agent
AGENT_SRCS := $(sort $(wildcard tests/guest/agent/*.c))
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
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/tests/kvm/%: $(BUILD)/obj/tests/kvm/%.o $(KVM_HARNESS) $(LIB)
	$(E) "  LD      $@"
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Benchmark programs (bench/README.md) link the core like the KVM tests;
# firstrun.so is preloaded into a VMM to time its first KVM_RUN.
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(KVM_HARNESS) $(LIB)
	$(E) "  LD      $@"
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/firstrun.so: bench/preload/firstrun.c
	$(E) "  CC      $@"
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

# Fuzz harnesses (tests/fuzz/NAME_harness.c, one per guest- or
# operator-facing parser): linked into test_virtq and test_fuzz_corpus,
# which replay tests/fuzz/corpus/NAME/, and, with clang's libFuzzer, into
# build/fuzz/NAME (`make fuzz`; scripts/fuzz.sh runs them all).
FUZZ_HARNESS_SRCS := $(sort $(wildcard tests/fuzz/*_harness.c))
FUZZ_NAMES := $(FUZZ_HARNESS_SRCS:tests/fuzz/%_harness.c=%)
FUZZ_HARNESS_OBJS := $(FUZZ_HARNESS_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/tests/unit/test_virtq: $(BUILD)/obj/tests/fuzz/virtq_harness.o
STATE_TARGET_SRCS := $(sort $(wildcard tests/fuzz/state_targets*.c))
$(BUILD)/tests/unit/test_fuzz_corpus: $(FUZZ_HARNESS_OBJS) $(STATE_TARGET_SRCS:%.c=$(BUILD)/obj/%.o)

FUZZ_BUILD  := build/fuzz
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter \
	       -Iinclude -pthread -fsanitize=fuzzer-no-link,address,undefined -MMD -MP
FUZZ_OBJS   := $(CORE_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
$(FUZZ_BUILD)/obj/%.o: %.c | deps-check
	$(E) "  CLANG   $<"
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_BUILD)/obj/main-%.o: tests/fuzz/fuzz_main.c | deps-check
	@mkdir -p $(dir $@)
	$(Q)clang $(FUZZ_CFLAGS) -DFUZZ_ONE=fuzz_$(subst -,_,$*)_one -c -o $@ $<
$(FUZZ_BUILD)/state: $(STATE_TARGET_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
$(FUZZ_BUILD)/%: $(FUZZ_BUILD)/obj/main-%.o $(FUZZ_BUILD)/obj/tests/fuzz/%_harness.o $(FUZZ_OBJS)
	$(E) "  FUZZ    $@"
	$(Q)clang -fsanitize=fuzzer,address,undefined -pthread -o $@ $^ $(LDLIBS)
fuzz: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%)

# The guest agent runs as PID 1 in the test guest: static, no sanitizers.
# Its files (tests/guest/agent/) are few and small: one compiler run.
$(AGENT): $(AGENT_SRCS) tests/guest/agent/agent.h | deps-check
	$(E) "  CC      $@ (static)"
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -pthread -o $@ $(AGENT_SRCS)

deps:
	$(Q)scripts/deps.sh

# The folders form a DAG (README, Layout): a grep over the #include lines,
# naming each file:line that breaks it.
check-layers:
	$(Q)scripts/check-layers.sh

# Cheap check so plain `make` installs what is missing on a fresh machine.
deps-check:
	$(Q)scripts/deps.sh

unit: deps-check $(UNIT_BINS)
	$(Q)$(PYTHON) scripts/run-unit.py $(UNIT_BINS)

systest: all
	$(Q)$(PYTHON) -m pytest -q -ra --durations=25 -m "not slow" tests/system

test: all check-layers
	$(Q)$(PYTHON) scripts/run-unit.py $(UNIT_BINS)
	$(Q)$(PYTHON) -m pytest -q -ra --durations=25 -m "not slow" tests/system

test-all: all check-layers
	$(Q)$(PYTHON) scripts/run-unit.py $(UNIT_BINS)
	$(Q)$(PYTHON) -m pytest -q -ra --durations=25 tests/system

# Unit tests under ASan/UBSan and under valgrind.
test-asan:
	$(Q)$(MAKE) SANITIZE=1 $(patsubst $(BUILD)/%,build/asan/%,$(UNIT_BINS))
	$(Q)$(PYTHON) scripts/run-unit.py $(patsubst $(BUILD)/%,build/asan/%,$(UNIT_BINS))

# The unit tests that run threads (I/O threads, vCPU threads, device
# threads) under ThreadSanitizer; any report fails the run.
TSAN_UNITS := test_dirty_log test_log test_machine test_uart test_uart_console test_uart_output test_vhost_user test_vhost_user_blk \
	      test_virtio_blk test_virtio_hostile test_virtio_net test_virtio_rng \
	      test_virtio_state test_virtio_seeds test_api
TSAN_BINS  := $(patsubst tests/unit/%.c,build/tsan/tests/unit/%,\
	      $(filter $(TSAN_UNITS:%=tests/unit/%.c),$(UNIT_SRCS)))
test-tsan:
	$(Q)$(MAKE) SANITIZE=thread $(TSAN_BINS)
	$(Q)TSAN_OPTIONS="exitcode=66 second_deadlock_stack=1 $(TSAN_OPTIONS)" \
		$(PYTHON) scripts/run-unit.py $(TSAN_BINS)

test-valgrind: $(UNIT_BINS)
	$(Q)$(PYTHON) scripts/run-unit.py --valgrind $(UNIT_BINS)

demo: all
	$(Q)$(PYTHON) scripts/demo.py

bench: all
	$(Q)bench/run all $(if $(QUICK),--quick)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/asan $(BUILD)/tsan $(BUILD)/smpvisor $(BUILD)/libsmpvisor.a \
	       $(BUILD)/tests $(BUILD)/bench $(BUILD)/guest/agent

.PHONY: fuzz demo all deps deps-check check-layers unit systest test test-all test-asan test-tsan test-valgrind bench clean
.SECONDARY:

-include $(shell find $(BUILD)/obj $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
