# Test guests: small multiboot kernels that each check one feature of Veneer
# (see tests/guests/README.md). Included by the top Makefile, which provides
# BUILD, CC, LD and OBJCOPY and builds $(GUEST_ELFS) for `make guests`.

GUEST_SRC := tests/guests
GUEST_OUT := $(BUILD)/guests

# 32-bit multiboot ELF guests, one source file each: tests/guests/NAME.c.
GUESTS_32 := hello cpuid pio msr hlt hypercall ram outside exceptions \
             triplefault spin forge
# The seeded hostile guest (chaos.c; docs/testing.md, "The chaos guest").
GUESTS_32 += chaos
# Issue 16 items 4, 5-6, 11, 12: NMIs, the APIC disabled, port 0x92, sleep.
GUESTS_32 += nmi apicoff porta acpisleep
# Issue 16 items 2, 3, 10 (vendor side): TSC_AUX, single steps, CR4.
GUESTS_32 += tscaux singlestep cr4rsvd
# Issue 16 items 1, 8, 9 (MSRs), 7 (task switches), 13 (argv[0]).
GUESTS_32 += msrfid taskgate argv0
# The guest clock across exits (issue 16, item 14).
GUESTS_32 += tscsteady
# Prefixes on instructions Veneer completes (issue 10: AMD-V, no decode assists).
GUESTS_32 += prefixes
# INVD, WBINVD, MONITOR, MWAIT as the guest's CPU runs them (issue 10).
GUESTS_32 += cpuinsn
# Hypercalls refused at CPL 3 with #UD (issue 10).
GUESTS_32 += hcuser
# Console input: answers each line it reads (the focus and shell tests).
GUESTS_32 += echo
# The KVM-compatible interface, x2APIC and TSC-deadline (issue 15).
GUESTS_32 += kvmpv
# Isolation: every attempt to reach past its partition (issue 12).
GUESTS_32 += isolation
# Several vCPUs: APs started by INIT and SIPI, IPIs in every mode (issue 11).
GUESTS_32 += smp
# Beats at a steady period, busy or halting: shared host CPUs (issue 11).
GUESTS_32 += heartbeat
# A driver that breaks virtio-blk's ring rules on purpose (docs/devices.md).
GUESTS_32 += virtio_hostile
# A virtio-net driver: echo, ping and watch across Veneer's switch.
GUESTS_32 += netpeer
# Owns QEMU's edu and aims its DMA inside and outside its RAM (docs/passthrough.md).
GUESTS_32 += dmaattack
# 64-bit (ELF64, switches itself to long mode): tests/guests/NAME.c.
GUESTS_64 := long64

GUEST_ELFS := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUESTS_32) $(GUESTS_64)) \
              $(GUEST_OUT)/realmode.bin

# What `make run` starts: tools/veneer-run arguments, quoted for the shell
# (one --guest value is "FILE:MODULE STRING", see docs/launcher.md).
DEFAULT_GUESTS_ARGS := --guest '$(GUEST_OUT)/hello.elf:name=hello mem=16M'

# The library is built once per mode; ap (AP start-up, lib/ap.h) and virtio
# (the virtio-pci driver, lib/virtio.h) are 32-bit only.
GUEST_LIB_C      := serial printf expect string start veneer trap
GUEST_LIB32_OBJS := $(patsubst %,$(GUEST_OUT)/lib32/%.o,$(GUEST_LIB_C) ap virtio entry32 isr32)
GUEST_LIB64_OBJS := $(patsubst %,$(GUEST_OUT)/lib64/%.o,$(GUEST_LIB_C) entry64 isr64)

# Freestanding, no FPU/SSE registers (long64 never enables SSE), no
# loop-to-memset rewriting (the library's memset would call itself).
GUEST_CFLAGS := -std=gnu11 -ffreestanding -fno-pie -fno-pic -nostdlib \
                -fno-stack-protector -fno-builtin -fno-tree-loop-distribute-patterns \
                -mgeneral-regs-only -O2 -g -I. \
                -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes \
                -Wshadow -Wundef -MMD -MP
GUEST_CFLAGS32 := -m32 -march=i686 $(GUEST_CFLAGS)
GUEST_CFLAGS64 := -m64 -mno-red-zone -mcmodel=small $(GUEST_CFLAGS)
GUEST_LDFLAGS  := -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
                  --no-warn-rwx-segments

$(GUEST_OUT)/lib32/%.o: $(GUEST_SRC)/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS32) -c $< -o $@
$(GUEST_OUT)/lib32/%.o: $(GUEST_SRC)/lib/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS32) -c $< -o $@
$(GUEST_OUT)/lib64/%.o: $(GUEST_SRC)/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS64) -c $< -o $@
$(GUEST_OUT)/lib64/%.o: $(GUEST_SRC)/lib/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS64) -c $< -o $@
$(GUEST_OUT)/obj32/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS32) -c $< -o $@
$(GUEST_OUT)/obj64/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS64) -c $< -o $@

$(patsubst %,$(GUEST_OUT)/%.elf,$(GUESTS_32)): $(GUEST_OUT)/%.elf: \
		$(GUEST_OUT)/obj32/%.o $(GUEST_LIB32_OBJS) $(GUEST_SRC)/lib/guest32.ld
	$(LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/lib/guest32.ld -o $@ \
		$< $(GUEST_LIB32_OBJS)

$(patsubst %,$(GUEST_OUT)/%.elf,$(GUESTS_64)): $(GUEST_OUT)/%.elf: \
		$(GUEST_OUT)/obj64/%.o $(GUEST_LIB64_OBJS) $(GUEST_SRC)/lib/guest64.ld
	$(LD) -m elf_x86_64 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/lib/guest64.ld -o $@ \
		$< $(GUEST_LIB64_OBJS)

# The real-mode guest: a flat binary loaded at 0x7C00 (a boot sector).
$(GUEST_OUT)/obj16/realmode.o: $(GUEST_SRC)/realmode.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -c $< -o $@
$(GUEST_OUT)/realmode.elf16: $(GUEST_OUT)/obj16/realmode.o $(GUEST_SRC)/realmode.ld
	$(LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/realmode.ld -o $@ $<
$(GUEST_OUT)/realmode.bin: $(GUEST_OUT)/realmode.elf16
	$(OBJCOPY) -O binary $< $@

-include $(wildcard $(GUEST_OUT)/*/*.d)
