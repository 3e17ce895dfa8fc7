# Veneer: a thin type-1 hypervisor for x86-64.
#
#   make            build build/veneer.elf (multiboot1 + multiboot2 image)
#   make iso        build build/veneer.iso (GRUB, BIOS + UEFI)
#   make run        boot Veneer in QEMU (AMD-V under TCG) with the Debian Linux guest
#   make run-bochs  boot the ISO in Bochs (VT-x, Skylake-class CPU)
#   make test       every test: unit, fuzz smoke, format, boot and guest integration runs
#   make fuzz       every host fuzz target FUZZ_SECONDS (120) each (tests/fuzz/README.md)
#   make deps       install the Debian packages the build and tests need
#
# Plain GNU Make; every source file under the hypervisor directories is
# built, so adding a file needs no edit here.

BUILD   ?= build
CC      := gcc
LD      := ld
OBJCOPY := objcopy
PYTHON  := /usr/bin/python3

WARN := -Wall -Wextra -Werror -Wmissing-prototypes -Wshadow -Wstrict-prototypes \
        -Wpointer-arith -Wundef -Wno-address-of-packed-member

# The hypervisor: freestanding, no SSE (the guest owns the FPU state), no red
# zone (interrupts arrive on the same stack), small code model at 2 MiB.
KCFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-pie -fno-pic -fno-stack-protector \
           -fno-builtin -mno-red-zone -mno-mmx -mno-sse -mno-sse2 -mno-80387 \
           -mgeneral-regs-only -mcmodel=small -fno-omit-frame-pointer -fno-common \
           -I. -I$(BUILD)/gen $(WARN) -MMD -MP
KASFLAGS := -I. -I$(BUILD)/gen -g -MMD -MP -D__ASSEMBLY__
KLDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
            --no-warn-rwx-segments -T linker.ld

HV_DIRS := boot arch/x86 arch/x86/vmx arch/x86/svm core core/lib core/vdev drivers
# arch/x86/asm-offsets.c is compiled to assembly only, for the offsets header.
HV_C    := $(filter-out arch/x86/asm-offsets.c,$(foreach d,$(HV_DIRS),$(wildcard $(d)/*.c)))
HV_S    := $(foreach d,$(HV_DIRS),$(wildcard $(d)/*.S))
HV_OBJ  := $(patsubst %,$(BUILD)/hv/%.o,$(HV_C) $(HV_S))

.PHONY: all iso run run-bochs test unit guests soak deps check-deps format format-check \
        headers bench clean integration linux disk run-test-guest fuzz fuzz-smoke
all: $(BUILD)/veneer.elf

# V=1 shows full command lines.
Q := $(if $(V),,@)

# Offsets the entry stubs use, generated from the C layout (asm-offsets.c).
ASM_OFFSETS := $(BUILD)/gen/asm-offsets.h
$(ASM_OFFSETS): arch/x86/asm-offsets.c core/vcpu.h core/exit.h core/lib/types.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(CC) $(filter-out -MMD -MP,$(KCFLAGS)) -S -o $@.s $<
	$(Q){ echo "/* Generated from arch/x86/asm-offsets.c: do not edit. */"; \
	  echo "#ifndef VENEER_ASM_OFFSETS_H"; echo "#define VENEER_ASM_OFFSETS_H"; \
	  sed -n 's/.*->\([A-Z0-9_]*\) \([0-9][0-9]*\).*/#define \1 \2/p' $@.s; \
	  echo "#endif"; } > $@.tmp
	$(Q)test -s $@.tmp && grep -q GPRS_R15 $@.tmp && mv $@.tmp $@

$(BUILD)/hv/%.c.o: %.c | $(ASM_OFFSETS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/hv/%.S.o: %.S | $(ASM_OFFSETS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(CC) $(KASFLAGS) -c $< -o $@

$(BUILD)/veneer.elf: $(HV_OBJ) linker.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(KLDFLAGS) -o $@ $(HV_OBJ)

-include $(HV_OBJ:.o=.d)

# ---- test guests (tests/guests/guests.mk defines GUEST_ELFS) ----
include tests/guests/guests.mk
guests: $(GUEST_ELFS)

# ---- make soak: Linux beside the chaos guest, not in make test (docs/testing.md) ----
include tests/guests/soak.mk

# ---- benchmarks (bench/bench.mk defines BENCH_ELF and BENCH_RUN; docs/benchmarks.md) ----
include bench/bench.mk
bench: check-deps all guests disk $(BENCH_ELF)
	$(BENCH_RUN)

# ---- host unit tests (tests/unit/units.mk defines UNIT_TESTS) ----
HOST_CFLAGS := -std=gnu11 -O1 -g -I. $(WARN) -Wno-missing-prototypes -DVENEER_HOST_TEST \
               -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
include tests/unit/units.mk
UNIT_BINS := $(patsubst %,$(BUILD)/unit/%,$(UNIT_TESTS))

# A test binary depends on the sources it links, not just its own file.
.SECONDEXPANSION:
$(BUILD)/unit/%: tests/unit/%.c $$(UNIT_SRCS_$$*) $$(wildcard core/*.h core/lib/*.h drivers/*.h core/vdev/*.h arch/x86/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  HOSTCC  $@")
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $< $(UNIT_SRCS_$*) -lcmocka

unit: check-deps $(UNIT_BINS)
	@$(PYTHON) tools/run-unit-tests $(UNIT_BINS)

# ---- host fuzz targets (tests/fuzz/fuzz.mk defines FUZZ_BINS; tests/fuzz/README.md) ----
include tests/fuzz/fuzz.mk
fuzz: check-deps $(FUZZ_BINS)
	@$(PYTHON) tools/run-fuzz fuzz --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS) --work $(BUILD)/fuzz $(FUZZ_BINS)
fuzz-smoke: check-deps $(FUZZ_BINS)
	@$(PYTHON) tools/run-fuzz smoke --work $(BUILD)/fuzz $(FUZZ_BINS)

# Every header compiles on its own.
HEADERS := $(foreach d,$(HV_DIRS),$(wildcard $(d)/*.h))
headers: $(ASM_OFFSETS)
	@set -e; for h in $(HEADERS); do \
	  echo '#include "'$$h'"' | $(CC) $(KCFLAGS) -x c -fsyntax-only -MF /dev/null - || \
	  { echo "header $$h does not compile on its own"; exit 1; }; done; \
	  echo "headers: $(words $(HEADERS)) compile on their own"

FORMAT_FILES = $(HV_C) $(HEADERS) $(wildcard tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h tests/guests/*.c \
               tests/guests/lib/*.c tests/guests/lib/*.h bench/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format: clean"

# ---- images and runs ----
iso: $(BUILD)/veneer.iso
$(BUILD)/veneer.iso: $(BUILD)/veneer.elf $(GUEST_ELFS) tools/veneer-run
	$(PYTHON) tools/veneer-run --build-iso $@ $(DEFAULT_GUESTS_ARGS)

# The Debian kernel and busybox initramfs (fetched, never committed).
LINUX_KERNEL := $(BUILD)/linux/vmlinuz
LINUX_GUEST_ARGS := --guest '$(LINUX_KERNEL):name=linux mem=256M -- console=ttyS0' \
                    --module '$(BUILD)/linux/initramfs.cpio.gz:for=linux' \
                    --module '$(BUILD)/disk/test.ext4:for=linux disk=rw'
linux:
	tools/fetch-linux
$(LINUX_KERNEL):
	tools/fetch-linux

# The virtio-blk tests' ext4 image (tools/make-disk).
disk: $(BUILD)/disk/test.ext4
$(BUILD)/disk/test.ext4: tools/make-disk
	tools/make-disk

# QEMU -icount: the guest's clock counts instructions, so the cost of the
# emulated exit path does not distort Linux's clock calibration.
run: check-deps all guests linux disk
	$(PYTHON) tools/veneer-run --emulator qemu --icount --smp 2 --interactive $(LINUX_GUEST_ARGS)

run-test-guest: check-deps all guests
	$(PYTHON) tools/veneer-run --emulator qemu --smp 2 --interactive $(DEFAULT_GUESTS_ARGS)

run-bochs: check-deps all guests linux disk
	$(PYTHON) tools/veneer-run --emulator bochs --ips 50000000 --interactive $(LINUX_GUEST_ARGS)

deps:
	tools/deps install

check-deps:
	@tools/deps check

test: check-deps all guests linux disk
	@$(PYTHON) tools/run-all-tests

integration: check-deps all guests linux disk
	$(PYTHON) -m pytest -v -p no:cacheprovider tests/integration

clean:
	rm -rf $(BUILD)
