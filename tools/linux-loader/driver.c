/* SPDX-License-Identifier: MIT */
/*
 * Host driver for tools/linux-loader-boot: runs the hypervisor's own Linux
 * loader (core/linux.c) on a bzImage and an initrd into a RAM array, then
 * writes the parts of guest RAM it filled as raw files that QEMU's generic
 * loader device puts back at the same guest-physical addresses.
 *
 *   driver KERNEL INITRD RAM_MIB CMDLINE 32|64 OUTDIR
 *
 * Prints "kernel=0x.. initrd=0x.. rip=0x.." on success; the loader's error
 * sentence and exit status 1 on a refusal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/linux.h"

static u8 *ram;

static u8 *read_file(const char *path, u64 *size)
{
	FILE *f = fopen(path, "rb");
	long len;
	u8 *bytes;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0) {
		fprintf(stderr, "driver: cannot read %s\n", path);
		exit(2);
	}
	rewind(f);
	bytes = malloc((size_t)len + 1);
	if (!bytes || fread(bytes, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "driver: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	*size = (u64)len;
	return bytes;
}

static void write_part(const char *dir, const char *name, u64 gpa, u64 len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(ram + gpa, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "driver: cannot write %s\n", path);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct linux_load_params p = {0};
	struct guest_mem guest = {0};
	struct linux_boot boot;

	if (argc != 7) {
		fprintf(stderr, "usage: driver KERNEL INITRD RAM_MIB CMDLINE "
				"32|64 OUTDIR\n");
		return 2;
	}
	p.kernel = read_file(argv[1], &p.kernel_size);
	p.initrd = read_file(argv[2], &p.initrd_size);
	p.cmdline = argv[4];
	p.entry_mode = strcmp(argv[5], "64") ? LINUX_ENTRY_32 : LINUX_ENTRY_64;
	guest.size = strtoull(argv[3], NULL, 0) << 20;
	ram = calloc(1, guest.size);
	guest.base = ram;
	if (!ram) {
		fprintf(stderr, "driver: no memory for the guest RAM\n");
		return 2;
	}
	if (linux_load(&guest, &p, &boot)) {
		printf("%s\n", boot.error);
		return 1;
	}
	write_part(argv[6], "low.bin", LINUX_BOOT_AREA_START,
		   LINUX_BOOT_AREA_END - LINUX_BOOT_AREA_START);
	write_part(argv[6], "kernel.bin", boot.kernel_load,
		   boot.kernel.pm_size);
	write_part(argv[6], "initrd.bin", boot.initrd_gpa, boot.initrd_size);
	printf("kernel=0x%lx initrd=0x%lx rip=0x%lx\n", boot.kernel_load,
	       boot.initrd_gpa, boot.cpu.rip);
	return 0;
}
