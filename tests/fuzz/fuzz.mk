# Host fuzz targets: libFuzzer with ASan and UBSan, built with clang
# (tests/fuzz/README.md). Included by the top Makefile after the unit tests,
# whose WARN and BUILD it uses; tools/run-fuzz runs the binaries.
#
# A target is tests/fuzz/fuzz_NAME.c plus the sources it links, named
# here like the unit tests' in tests/unit/units.mk; its seed corpus is
# tests/fuzz/corpus/NAME/. Every target also links tests/fuzz/fuzz_common.c
# and cmocka (the unit-test fakes and host panic() use its asserts).

FUZZ_CC := clang-14
FUZZ_CFLAGS := -std=gnu11 -O1 -g -I. $(WARN) -Wno-missing-prototypes -DVENEER_HOST_TEST \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
# How long `make fuzz` runs each target, and how many at a time.
FUZZ_SECONDS ?= 120
FUZZ_JOBS ?= 2

# Each target links the sources of the unit test of the same code
# (tests/unit/units.mk), so the two stay in step, plus what it adds.
FUZZ_LIB := core/lib/format.c core/lib/string.c tests/unit/host_printk.c

# Parsers of what the boot loader and the firmware hand the hypervisor.
FUZZ_TARGETS += multiboot
FUZZ_SRCS_multiboot := $(UNIT_SRCS_test_multiboot) core/lib/memmap.c
FUZZ_TARGETS += acpi
FUZZ_SRCS_acpi := $(UNIT_SRCS_test_acpi)
FUZZ_TARGETS += dmar
FUZZ_SRCS_dmar := $(UNIT_SRCS_test_dmar)
FUZZ_TARGETS += ivrs
FUZZ_SRCS_ivrs := $(UNIT_SRCS_test_ivrs)
FUZZ_TARGETS += cmdline
FUZZ_SRCS_cmdline := $(UNIT_SRCS_test_cmdline)
FUZZ_TARGETS += guestcfg
FUZZ_SRCS_guestcfg := $(UNIT_SRCS_test_guestcfg)
FUZZ_TARGETS += config
FUZZ_SRCS_config := $(UNIT_SRCS_test_config)

# The guest image loaders, writing into a struct guest_mem view;
# tests/fuzz/guestmem_probe.c (core/guestmem.c with every write counted)
# takes the place of core/guestmem.c, test_load's renaming wrappers that
# of the real loaders.
FUZZ_LOADER = $(filter-out core/guestmem.c tests/unit/wrap_%.c,$(1)) \
	tests/fuzz/guestmem_probe.c $(FUZZ_LIB)
FUZZ_TARGETS += elf
FUZZ_SRCS_elf := $(call FUZZ_LOADER,$(UNIT_SRCS_test_elf))
FUZZ_TARGETS += mbguest
FUZZ_SRCS_mbguest := $(call FUZZ_LOADER,$(UNIT_SRCS_test_mbguest)) core/multiboot.c
FUZZ_TARGETS += linux
FUZZ_SRCS_linux := $(call FUZZ_LOADER,$(UNIT_SRCS_test_linux))
FUZZ_TARGETS += load
FUZZ_SRCS_load := $(call FUZZ_LOADER,$(UNIT_SRCS_test_load)) core/mbguest.c \
	core/linux.c core/guestcfg.c

# The instruction decoder, and MMIO emulation through the fake backend.
FUZZ_TARGETS += decode
FUZZ_SRCS_decode := $(UNIT_SRCS_test_decode)
FUZZ_TARGETS += mmio
FUZZ_SRCS_mmio := $(UNIT_SRCS_test_mmio)

# The virtual devices, one by one, and wired together by core/platform.c.
FUZZ_VDEVS := vuart vpic vpit vrtc vpci vi8042 vlapic vioapic
FUZZ_TARGETS += $(FUZZ_VDEVS)
$(foreach d,$(FUZZ_VDEVS),$(eval FUZZ_SRCS_$(d) := $$(UNIT_SRCS_test_$(d)) $$(FUZZ_LIB)))
FUZZ_TARGETS += platform
FUZZ_SRCS_platform := $(UNIT_SRCS_test_platform)
# virtio-blk over the PCI transport and the split queue.
FUZZ_TARGETS += virtio
FUZZ_SRCS_virtio := $(UNIT_SRCS_test_virtio)
# Two virtio-net NICs on the switch between guests (issue 13).
FUZZ_TARGETS += vswitch
FUZZ_SRCS_vswitch := $(UNIT_SRCS_test_virtio_net)

FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_HEADERS = $(wildcard core/*.h core/lib/*.h core/vdev/*.h drivers/*.h arch/x86/*.h \
               tests/unit/*.h tests/fuzz/*.h)

# A target depends on the sources it links, as a unit test does.
.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.c $$(FUZZ_SRCS_$$*) \
		      $$(FUZZ_HEADERS) tests/fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/fuzz_common.c \
		$(sort $(FUZZ_SRCS_$*)) -lcmocka

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BINS)
