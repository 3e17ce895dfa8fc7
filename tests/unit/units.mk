# test_format: core/format.c, str_copy from core/string.c, host printk
UNIT_TESTS += test_format
UNIT_SRCS_test_format := core/format.c core/string.c tests/unit/host_printk.c
UNIT_TESTS += test_cmdline
UNIT_SRCS_test_cmdline := core/cmdline.c core/format.c core/string.c
UNIT_TESTS += test_multiboot
UNIT_SRCS_test_multiboot := core/multiboot.c core/format.c core/string.c \
	tests/unit/host_printk.c
UNIT_TESTS += test_pagetable
UNIT_SRCS_test_pagetable := core/pagetable.c
UNIT_TESTS += test_memmap
UNIT_SRCS_test_memmap := core/memmap.c core/format.c core/string.c \
	tests/unit/host_printk.c
UNIT_TESTS += test_elf
UNIT_SRCS_test_elf := core/elf.c core/guestmem.c core/format.c
UNIT_TESTS += test_page_alloc
UNIT_SRCS_test_page_alloc := core/page_alloc.c core/format.c core/string.c \
	tests/unit/host_printk.c
UNIT_TESTS += test_mbguest
UNIT_SRCS_test_mbguest := core/mbguest.c core/format.c
UNIT_TESTS += test_acpi
UNIT_SRCS_test_acpi := drivers/acpi.c core/format.c core/string.c \
	tests/unit/host_printk.c
UNIT_TESTS += test_guest_walk
UNIT_SRCS_test_guest_walk := core/guest_walk.c
UNIT_TESTS += test_guestcfg
UNIT_SRCS_test_guestcfg := core/guestcfg.c core/format.c
UNIT_TESTS += test_decode
UNIT_SRCS_test_decode := core/decode.c core/format.c
UNIT_TESTS += test_vuart
UNIT_SRCS_test_vuart := core/vdev/vuart.c
UNIT_TESTS += test_iobus
UNIT_SRCS_test_iobus := core/iobus.c
UNIT_TESTS += test_linux
UNIT_SRCS_test_linux := core/linux.c core/guestmem.c core/format.c
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
UNIT_SRCS_test_acpi_tables := core/vdev/acpi_tables.c core/format.c \
	drivers/acpi.c core/string.c tests/unit/host_printk.c
UNIT_TESTS += test_vlapic
UNIT_SRCS_test_vlapic := core/vdev/vlapic.c
UNIT_TESTS += test_vioapic
UNIT_SRCS_test_vioapic := core/vdev/vioapic.c core/vdev/vlapic.c
