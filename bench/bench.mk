# The benchmark (docs/benchmarks.md): a multiboot test kernel built with the
# test-guest library, and the runner that boots it natively and under
# Veneer. Included by the top Makefile after tests/guests/guests.mk (it uses
# that file's GUEST_* variables and library objects).
#
#   make bench              QEMU (AMD-V, -icount) and Bochs (VT-x), native
#                           and under Veneer, the exit-cost kernel (also
#                           with two CPUs: IPI round trips) and the Debian
#                           Linux guest with 1, 2 and 4 vCPUs (make linux
#                           fetches it);
#                           writes build/bench/results.json and regenerates
#                           docs/benchmarks.md
#   make bench ACCEL=kvm    QEMU with KVM (-cpu host), TSC cycles; no Bochs

BENCH_OUT := $(BUILD)/bench
BENCH_ELF := $(BENCH_OUT)/bench.elf
ACCEL     ?= tcg

$(BENCH_OUT)/bench.o: bench/bench.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS32) -c $< -o $@

$(BENCH_ELF): $(BENCH_OUT)/bench.o $(GUEST_LIB32_OBJS) $(GUEST_SRC)/lib/guest32.ld
	$(LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/lib/guest32.ld -o $@ \
		$< $(GUEST_LIB32_OBJS)

# rdtsc for the Linux rows' initramfs: a static x86-64 Linux program, no libc.
BENCH_RDTSC := $(BENCH_OUT)/rdtsc
$(BENCH_RDTSC): bench/rdtsc.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O2 -static -nostdlib -fno-stack-protector -fno-pie -no-pie \
		-o $@ $<

# The Linux rows need the Debian guest and rdtsc; the top Makefile's bench
# rule has the recipe.
bench: linux $(BENCH_RDTSC)

# What `make bench` runs; the top Makefile's bench target depends on it.
# It measures this BUILD (make BUILD=DIR bench: DIR/veneer.elf, DIR/bench,
# DIR/linux), and still regenerates docs/benchmarks.md.
BENCH_RUN = VENEER_BUILD=$(abspath $(BUILD)) $(PYTHON) bench/run-bench --accel $(ACCEL)

-include $(BENCH_OUT)/bench.d
