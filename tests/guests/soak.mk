# make soak: the Debian Linux guest under a workload beside the chaos guest
# with fresh random seeds (tools/soak; docs/testing.md, "The chaos guest and
# make soak"). Not part of `make test`. Included by the top Makefile, which
# provides PYTHON, BUILD, GUEST_OUT and the check-deps, all, guests and
# linux targets.
#
#   make soak                          600 s on QEMU (AMD-V)
#   make soak SOAK_SECONDS=3600
#   make soak SOAK_EMULATOR=bochs      VT-x
#   make soak SOAK_CHAOS_ARGS='skipmsr=0x10'   keep a known bug out

SOAK_SECONDS    ?= 600
SOAK_EMULATOR   ?= qemu
SOAK_CHAOS_ARGS ?=

soak: check-deps all guests linux
	$(PYTHON) tools/soak --seconds $(SOAK_SECONDS) --emulator $(SOAK_EMULATOR) \
		--image $(BUILD)/veneer.elf --guests $(GUEST_OUT) --linux $(BUILD)/linux \
		--log-dir $(BUILD)/soak --chaos-args '$(SOAK_CHAOS_ARGS)'
