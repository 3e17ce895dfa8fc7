/* SPDX-License-Identifier: MIT */
/*
 * Basic types shared by the hypervisor and the host unit tests.
 *
 * Only freestanding headers are used, so every module that includes this
 * file builds both into the hypervisor image and into a host test binary.
 */
#ifndef VENEER_CORE_LIB_TYPES_H
#define VENEER_CORE_LIB_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t i8;
typedef int16_t i16;
typedef int32_t i32;
typedef int64_t i64;

/*
 * Address kinds are distinct types so that passing a guest-physical address
 * where a host-physical one is expected fails to compile.
 */
typedef struct {
	u64 v;
} hpa_t; /* host-physical address */
typedef struct {
	u64 v;
} gpa_t; /* guest-physical address */

static inline hpa_t hpa(u64 v)
{
	return (hpa_t){v};
}
static inline gpa_t gpa(u64 v)
{
	return (gpa_t){v};
}

#define KiB(x) ((u64)(x) << 10)
#define MiB(x) ((u64)(x) << 20)
#define GiB(x) ((u64)(x) << 30)

#define PAGE_SHIFT 12
#define PAGE_SIZE  4096ull

#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a)-1))
#define ALIGN_UP(x, a)	 (((x) + (u64)(a)-1) & ~((u64)(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a)-1)) == 0)
#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))
#define BIT(n)		 (1ull << (n))

#define __packed       __attribute__((packed))
#define __aligned(x)   __attribute__((aligned(x)))
#define __noreturn     __attribute__((noreturn))
#define __unused       __attribute__((unused))
#define __printf(a, b) __attribute__((format(printf, a, b)))

#endif /* VENEER_CORE_LIB_TYPES_H */
