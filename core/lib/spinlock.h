/* SPDX-License-Identifier: MIT */
/*
 * Ticket spinlock: fair between host CPUs.
 */
#ifndef VENEER_CORE_LIB_SPINLOCK_H
#define VENEER_CORE_LIB_SPINLOCK_H

#include "core/lib/types.h"

typedef struct {
	volatile u32 next;
	volatile u32 owner;
} spinlock_t;

#define SPINLOCK_INIT                                                          \
	{                                                                      \
		0, 0                                                           \
	}

static inline void spin_lock(spinlock_t *l)
{
	u32 ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		__asm__ volatile("pause");
}

/* Take the lock if nobody holds or waits for it; true when taken. */
static inline bool spin_trylock(spinlock_t *l)
{
	u32 ticket = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);

	return __atomic_compare_exchange_n(&l->next, &ticket, ticket + 1, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

#endif /* VENEER_CORE_LIB_SPINLOCK_H */
