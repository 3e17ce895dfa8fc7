# test_format: core/lib/format.c, str_copy from core/lib/string.c, host printk
UNIT_TESTS += test_format
UNIT_SRCS_test_format := core/lib/format.c core/lib/string.c tests/unit/host_printk.c
UNIT_TESTS += test_cmdline
UNIT_SRCS_test_cmdline := core/cmdline.c core/lib/format.c core/lib/string.c
UNIT_TESTS += test_multiboot
UNIT_SRCS_test_multiboot := core/multiboot.c core/lib/format.c core/lib/string.c \
	tests/unit/host_printk.c
UNIT_TESTS += test_pagetable
UNIT_SRCS_test_pagetable := core/lib/pagetable.c
UNIT_TESTS += test_memmap
UNIT_SRCS_test_memmap := core/lib/memmap.c core/lib/format.c core/lib/string.c \
	tests/unit/host_printk.c
UNIT_TESTS += test_elf
UNIT_SRCS_test_elf := core/elf.c core/guestmem.c core/lib/format.c
UNIT_TESTS += test_page_alloc
UNIT_SRCS_test_page_alloc := core/lib/page_alloc.c core/lib/format.c core/lib/string.c \
	tests/unit/host_printk.c
UNIT_TESTS += test_mbguest
UNIT_SRCS_test_mbguest := core/mbguest.c core/guestmem.c core/lib/format.c
UNIT_TESTS += test_acpi
UNIT_SRCS_test_acpi := drivers/acpi.c core/lib/format.c core/lib/string.c \
	tests/unit/host_printk.c
# Issue 14: the host's PCI devices (drivers/pci.c) over a fake configuration
# space; test_pci defines printk_wants() itself.
UNIT_TESTS += test_pci
UNIT_SRCS_test_pci := drivers/pci.c core/lib/format.c core/lib/string.c \
	tests/unit/host_printk.c
UNIT_TESTS += test_guest_walk
UNIT_SRCS_test_guest_walk := core/guest_walk.c
UNIT_TESTS += test_guestcfg
UNIT_SRCS_test_guestcfg := core/guestcfg.c core/lib/format.c
UNIT_TESTS += test_decode
UNIT_SRCS_test_decode := core/decode.c core/lib/format.c
UNIT_TESTS += test_vuart
UNIT_SRCS_test_vuart := core/vdev/vuart.c
UNIT_TESTS += test_iobus
UNIT_SRCS_test_iobus := core/iobus.c
UNIT_TESTS += test_linux
UNIT_SRCS_test_linux := core/linux.c core/guestmem.c core/lib/format.c
UNIT_TESTS += test_vpic
UNIT_SRCS_test_vpic := core/vdev/vpic.c
UNIT_TESTS += test_vpit
UNIT_SRCS_test_vpit := core/vdev/vpit.c
UNIT_TESTS += test_vrtc
UNIT_SRCS_test_vrtc := core/vdev/vrtc.c
UNIT_TESTS += test_vpci
UNIT_SRCS_test_vpci := core/vdev/vpci.c
UNIT_TESTS += test_vi8042
UNIT_SRCS_test_vi8042 := core/vdev/vi8042.c
UNIT_TESTS += test_acpi_tables
UNIT_SRCS_test_acpi_tables := core/vdev/acpi_tables.c core/lib/format.c \
	drivers/acpi.c core/lib/string.c tests/unit/host_printk.c
UNIT_TESTS += test_vlapic
UNIT_SRCS_test_vlapic := core/vdev/vlapic.c
UNIT_TESTS += test_vioapic
UNIT_SRCS_test_vioapic := core/vdev/vioapic.c core/vdev/vlapic.c
# The decide half through a fake backend (tests/unit/fake_vcpu.h). With
# VENEER_HOST_TEST, arch/x86/cpu.h declares RDMSR/WRMSR, RDTSC, CR4 and
# XGETBV/XSETBV as functions: the fake defines them.
DECIDE_FAKES := tests/unit/fake_vcpu.c tests/unit/fake_console.c \
	tests/unit/host_printk.c core/lib/format.c core/lib/string.c
DECIDE_TESTS := test_cpuid test_msr test_io test_hypercall test_mmio \
	test_vcpu_loop
UNIT_TESTS += test_cpuid
UNIT_SRCS_test_cpuid := core/cpuid.c $(DECIDE_FAKES)
UNIT_TESTS += test_msr
UNIT_SRCS_test_msr := core/msr.c core/vm.c core/guest_walk.c core/vdev/vuart.c $(DECIDE_FAKES)
UNIT_TESTS += test_io
UNIT_SRCS_test_io := core/io.c core/iobus.c core/vm.c core/guest_walk.c \
	core/vdev/vuart.c $(DECIDE_FAKES)
UNIT_TESTS += test_hypercall
UNIT_SRCS_test_hypercall := core/hypercall.c core/vm.c core/guest_walk.c \
	core/vdev/vuart.c arch/x86/tsc.c $(DECIDE_FAKES)
UNIT_TESTS += test_mmio
UNIT_SRCS_test_mmio := core/mmio.c core/decode.c core/vm.c core/guest_walk.c \
	core/vdev/vuart.c $(DECIDE_FAKES)
UNIT_TESTS += test_printk
UNIT_SRCS_test_printk := core/lib/printk.c core/lib/format.c core/lib/string.c \
	core/vdev/vuart.c
UNIT_TESTS += test_load
UNIT_SRCS_test_load := core/load.c core/elf.c core/guestmem.c \
	tests/unit/wrap_mbguest.c tests/unit/wrap_linux.c core/lib/format.c \
	core/lib/string.c tests/unit/host_printk.c
UNIT_TESTS += test_vcpu_loop
UNIT_SRCS_test_vcpu_loop := core/vcpu.c core/exit.c core/cpuid.c core/io.c core/iobus.c \
	core/msr.c core/hypercall.c core/mmio.c core/decode.c core/vm.c \
	core/guest_walk.c core/vdev/vuart.c arch/x86/tsc.c $(DECIDE_FAKES)
UNIT_TESTS += test_platform
UNIT_SRCS_test_platform := core/platform.c core/iobus.c core/vdev/vpic.c \
	core/vdev/vpit.c core/vdev/vrtc.c core/vdev/vpci.c core/vdev/vi8042.c \
	core/vdev/vioapic.c core/vdev/vlapic.c core/vdev/vuart.c \
	core/vdev/acpi_tables.c core/vdev/virtio_blk.c core/vdev/virtio_console.c \
	core/vdev/virtio_net.c core/vdev/vswitch.c core/vdev/virtio_pci.c \
	core/vdev/virtq.c core/guestmem.c core/lib/format.c core/lib/string.c \
	tests/unit/host_printk.c core/vdev/vpassthru.c drivers/pci.c \
	tests/unit/fake_passthru.c
# Issue 16 (h16m): core/msr.c asks core/guestcpu.c about the guest's CPU
# (test_msr supplies its own); the task-switch exit handler.
UNIT_SRCS_test_vcpu_loop += core/guestcpu.c core/taskswitch.c
UNIT_TESTS += test_taskswitch
UNIT_SRCS_test_taskswitch := core/taskswitch.c core/vm.c core/guest_walk.c \
	core/vdev/vuart.c $(DECIDE_FAKES)
# Item 13: test_load parses declarations to load them (core/guestcfg.c).
UNIT_SRCS_test_load += core/guestcfg.c
# Issue 10: prefixes of exiting instructions an AMD-V backend without NRIP
# save or decode assists cannot describe (core/prefix.c, core/decode.c).
UNIT_TESTS += test_prefix
UNIT_SRCS_test_prefix := core/prefix.c core/decode.c core/io.c core/iobus.c \
	core/vm.c core/guest_walk.c core/vdev/vuart.c $(DECIDE_FAKES)
UNIT_SRCS_test_io += core/prefix.c core/decode.c
UNIT_SRCS_test_vcpu_loop += core/prefix.c
# Issue 10: INVD, MONITOR, MWAIT (core/cpuinsn.c); the loop dispatches to it.
UNIT_TESTS += test_cpuinsn
UNIT_SRCS_test_cpuinsn := core/cpuinsn.c core/prefix.c core/decode.c core/vm.c \
	core/guest_walk.c core/vdev/vuart.c $(DECIDE_FAKES)
UNIT_SRCS_test_vcpu_loop += core/cpuinsn.c
# test_shell: the operator shell with the real console line logic; the host
# facts it shows (CPUs, free memory, exit counts, the kick) are faked.
UNIT_TESTS += test_shell
UNIT_SRCS_test_shell := core/shell.c core/lib/printk.c core/lib/format.c \
	core/lib/string.c
# test_config: the configuration file's parser and every check (core/config.c).
UNIT_TESTS += test_config
UNIT_SRCS_test_config := core/config.c core/guestcfg.c core/lib/format.c \
	core/lib/string.c
# Issue 15: the KVM-compatible interface (core/kvmpv.c) and its pvclock
# arithmetic (core/pvclock.c); CPUID and MSR policy hand leaves and MSRs
# to it.
KVMPV_SRCS := core/kvmpv.c core/pvclock.c core/vdev/vrtc.c \
	tests/unit/fake_pveoi.c
UNIT_TESTS += test_pvclock
UNIT_SRCS_test_pvclock := core/pvclock.c
UNIT_TESTS += test_kvmpv
UNIT_SRCS_test_kvmpv := core/cpuid.c core/msr.c core/vm.c core/guest_walk.c \
	core/vdev/vuart.c $(KVMPV_SRCS) $(DECIDE_FAKES)
UNIT_SRCS_test_cpuid += $(KVMPV_SRCS) core/vm.c core/guest_walk.c \
	core/vdev/vuart.c
UNIT_SRCS_test_msr += $(KVMPV_SRCS)
UNIT_SRCS_test_hypercall += $(KVMPV_SRCS)
UNIT_SRCS_test_vcpu_loop += $(KVMPV_SRCS)
# Issue 11: host CPUs for every vCPU (core/placement.c), from module strings
# and from a configuration.
UNIT_TESTS += test_guestcfg_placement
UNIT_SRCS_test_guestcfg_placement := core/placement.c core/config.c core/guestcfg.c \
	core/lib/format.c core/lib/string.c tests/unit/host_printk.c
# Issue 12: serial ports guests own (core/serialport.c) and tag colours
# (core/tagcolor.c with the console's tag style in core/lib/printk.c).
UNIT_TESTS += test_serialport
UNIT_SRCS_test_serialport := core/serialport.c core/lib/format.c
UNIT_TESTS += test_tagcolor
UNIT_SRCS_test_tagcolor := core/tagcolor.c core/lib/printk.c core/lib/format.c \
	core/lib/string.c
# test_sched: the shared-CPU policy (core/sched_policy.c), pure
UNIT_TESTS += test_sched
UNIT_SRCS_test_sched := core/sched_policy.c
UNIT_TESTS += test_virtq
UNIT_SRCS_test_virtq := core/vdev/virtq.c core/guestmem.c core/lib/format.c
UNIT_TESTS += test_virtio
UNIT_SRCS_test_virtio := core/vdev/virtio_blk.c core/vdev/virtio_pci.c core/vdev/virtq.c \
	core/vdev/vpci.c core/guestmem.c core/lib/format.c core/lib/string.c tests/unit/host_printk.c
UNIT_TESTS += test_virtio_console
UNIT_SRCS_test_virtio_console := core/vdev/virtio_console.c core/vdev/virtio_pci.c \
	core/vdev/virtq.c core/vdev/vpci.c core/guestmem.c core/lib/format.c core/lib/string.c \
	tests/unit/host_printk.c
# Issue 13: the switch between guests' NICs (core/vdev/vswitch.c) and
# virtio-net (core/vdev/virtio_net.c), which test_virtio_net joins through it.
UNIT_TESTS += test_vswitch
UNIT_SRCS_test_vswitch := core/vdev/vswitch.c core/lib/string.c
UNIT_TESTS += test_virtio_net
UNIT_SRCS_test_virtio_net := core/vdev/virtio_net.c core/vdev/vswitch.c \
	core/vdev/virtio_pci.c core/vdev/virtq.c core/vdev/vpci.c core/guestmem.c \
	core/lib/format.c core/lib/string.c tests/unit/host_printk.c
# The IOMMU tables: Intel VT-d's DMAR (drivers/dmar.c) and AMD-Vi's IVRS
# (drivers/ivrs.c), through drivers/acpi.c's table lookup.
UNIT_TESTS += test_dmar
UNIT_SRCS_test_dmar := drivers/dmar.c drivers/acpi.c core/lib/format.c \
	core/lib/string.c tests/unit/host_printk.c
UNIT_TESTS += test_ivrs
UNIT_SRCS_test_ivrs := drivers/ivrs.c drivers/acpi.c core/lib/format.c \
	core/lib/string.c tests/unit/host_printk.c
# Issue 14: the Intel VT-d driver (drivers/vtd.c) against a fake register
# file; dmar.c's scope resolver, the page-table engine for the domains'
# tables (drivers/acpi.c because dmar.c reads the DMAR through it).
UNIT_TESTS += test_vtd
UNIT_SRCS_test_vtd := drivers/vtd.c drivers/dmar.c core/lib/pagetable.c \
	core/lib/format.c core/lib/string.c tests/unit/host_printk.c \
	drivers/acpi.c
# Issue 14: the AMD-Vi IOMMU driver (drivers/amdvi.c) against fake units
# and fake memory; drivers/ivrs.c (with drivers/acpi.c, which it calls)
# for an alias parsed from a real IVHD.
UNIT_TESTS += test_amdvi
UNIT_SRCS_test_amdvi := drivers/amdvi.c drivers/ivrs.c drivers/acpi.c \
	core/lib/pagetable.c core/lib/format.c core/lib/string.c \
	tests/unit/host_printk.c
# Issue 14: a host PCI function as its guest sees it (core/vdev/vpassthru.c)
# over a fake host configuration space (drivers/pci.c's pci_set_access()).
UNIT_TESTS += test_vpassthru
UNIT_SRCS_test_vpassthru := core/vdev/vpassthru.c core/vdev/vpci.c drivers/pci.c \
	core/lib/format.c core/lib/string.c tests/unit/host_printk.c
# Issue 14: claiming host PCI functions for a guest (core/passthrough.c): the
# IOMMU, udelay and the TSC are fakes in the test; the page-table engine for
# pt_error_string().
UNIT_TESTS += test_passthrough
UNIT_SRCS_test_passthrough := core/passthrough.c drivers/pci.c core/lib/pagetable.c \
	core/lib/format.c core/lib/string.c tests/unit/host_printk.c
# Issue 14: the vendor-neutral IOMMU layer (drivers/iommu.c): the ACPI
# readers, the vendor probes and their ops, memory, the TSC and the stray
# interrupt count are fakes in the test; the page-table engine is real.
UNIT_TESTS += test_iommu
UNIT_SRCS_test_iommu := drivers/iommu.c core/lib/pagetable.c core/lib/format.c \
	core/lib/string.c tests/unit/host_printk.c
