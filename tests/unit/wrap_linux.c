/* SPDX-License-Identifier: MIT */
/*
 * core/linux.c with linux_load() named real_linux_load(), so that
 * test_load.c can run another guest's load in the middle of one guest's
 * (as another CPU may) and call the real loader itself.
 */
#define linux_load real_linux_load
#include "core/linux.c"
