/* SPDX-License-Identifier: MIT */
/*
 * core/mbguest.c with mbguest_build() named real_mbguest_build(), so that
 * test_load.c can run another guest's load in the middle of one guest's
 * (as another CPU may) and call the real builder itself.
 */
#define mbguest_build real_mbguest_build
#include "core/mbguest.c"
