/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/vdev/virtq.c: the device side of a split virtqueue
 * (virtio 1.2, 2.7) in a fake guest RAM: chains taken and returned,
 * copies in and out of their buffers, interrupt suppression with and
 * without EVENT_IDX, indirect tables, and every driver error the walker
 * must refuse with a sentence that names it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/vdev/virtq.h"

#define RAM_SIZE 0x10000
/* Where the test driver puts its queue, tables and buffers. */
#define DESC   0x1000
#define AVAIL  0x2000
#define USED   0x3000
#define TABLE  0x4000 /* an indirect table */
#define TABLE2 0x5000
#define DATA   0x8000
#define SIZE   8

static _Alignas(4096) u8 ram[RAM_SIZE];
static const struct guest_mem mem = {ram, RAM_SIZE};
static struct virtq q;
static struct virtq_chain chain; /* 4 KiB: not on a stack */
static char why[VIRTQ_WHY_MAX];
static u16 driver_idx; /* the driver's avail->idx */

static void put(u64 gpa, u64 v, u32 bytes)
{
	for (u32 k = 0; k < bytes; k++)
		ram[gpa + k] = (u8)(v >> (8 * k));
}

static u64 get(u64 gpa, u32 bytes)
{
	u64 v = 0;

	for (u32 k = bytes; k-- > 0;)
		v = v << 8 | ram[gpa + k];
	return v;
}

static void desc_at(u64 table, u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
	u64 d = table + 16ull * i;

	put(d, addr, 8);
	put(d + 8, len, 4);
	put(d + 12, flags, 2);
	put(d + 14, next, 2);
}

static void desc(u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
	desc_at(DESC, i, addr, len, flags, next);
}

/* The driver makes chain `head` available (2.7.13.2, 2.7.13.3). */
static void offer(u16 head)
{
	put(AVAIL + 4 + 2 * (driver_idx % q.size), head, 2);
	driver_idx++;
	put(AVAIL + 2, driver_idx, 2);
}

/* A fresh queue of `size` at DESC, AVAIL, USED, both indexes at start. */
static void setup_queue(u16 size, u16 start)
{
	memset(ram, 0, sizeof(ram));
	memset(&chain, 0, sizeof(chain));
	memset(why, 0, sizeof(why));
	virtq_reset(&q);
	q.size = size;
	q.desc = DESC;
	q.avail = AVAIL;
	q.used = USED;
	q.last_avail = q.used_idx = driver_idx = start;
	put(AVAIL + 2, start, 2);
	put(USED + 2, start, 2);
	assert_int_equal(virtq_check(&q, &mem, why), 0);
}

static int setup(void **state)
{
	(void)state;
	setup_queue(SIZE, 0);
	return 0;
}

/* The next pop is a driver error whose sentence contains a and b. */
static void expect_error(const char *a, const char *b)
{
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), -1);
	assert_non_null(strstr(why, a));
	if (b)
		assert_non_null(strstr(why, b));
	assert_true(strlen(why) < VIRTQ_WHY_MAX);
}

static void expect_check_error(const char *a, const char *b)
{
	assert_int_equal(virtq_check(&q, &mem, why), -1);
	assert_non_null(strstr(why, a));
	if (b)
		assert_non_null(strstr(why, b));
}

/* ---- chains that follow the rules ---- */

static void test_one_descriptor(void **state)
{
	(void)state;
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 0);
	desc(5, DATA, 64, 0, 0);
	offer(5);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(chain.head, 5);
	assert_int_equal(chain.count, 1);
	assert_int_equal(chain.readable, 64);
	assert_int_equal(chain.writable, 0);
	assert_int_equal(chain.buf[0].gpa, DATA);
	assert_int_equal(chain.buf[0].len, 64);
	assert_false(chain.buf[0].write);
	assert_int_equal(q.last_avail, 1);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 0);
	assert_int_equal(q.last_avail, 1);
}

static void test_three_descriptors(void **state)
{
	(void)state;
	desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 3);
	desc(3, DATA + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 7);
	desc(7, DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(chain.head, 0);
	assert_int_equal(chain.count, 3);
	assert_int_equal(chain.readable, 16);
	assert_int_equal(chain.writable, 513);
	assert_false(chain.buf[0].write);
	assert_true(chain.buf[1].write);
	assert_int_equal(chain.buf[1].gpa, DATA + 0x100);
	assert_true(chain.buf[2].write);
	assert_int_equal(chain.buf[2].len, 1);
}

static void test_chain_as_long_as_the_queue(void **state)
{
	(void)state;
	for (u16 i = 0; i < SIZE; i++)
		desc(i, DATA + i, 1, i + 1 < SIZE ? VIRTQ_DESC_F_NEXT : 0,
		     (u16)(i + 1));
	offer(0);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(chain.count, SIZE);
	assert_int_equal(chain.readable, SIZE);
}

static void test_zero_length_buffer_counts(void **state)
{
	u8 out[4];

	(void)state;
	desc(0, DATA, 0, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA + 0x10, 4, 0, 0);
	put(DATA + 0x10, 0x04030201, 4);
	offer(0);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(chain.count, 2);
	assert_int_equal(chain.readable, 4);
	assert_int_equal(virtq_read(&mem, &chain, 0, out, 4), 4);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[3], 4);
}

static void test_avail_idx_wraps(void **state)
{
	(void)state;
	setup_queue(SIZE, 65535);
	desc(1, DATA, 8, 0, 0);
	desc(2, DATA, 8, 0, 0);
	offer(1);
	offer(2);
	assert_int_equal(get(AVAIL + 2, 2), 1);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(chain.head, 1);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(chain.head, 2);
	assert_int_equal(q.last_avail, 1);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 0);
}

static void test_full_ring(void **state)
{
	(void)state;
	for (u16 i = 0; i < SIZE; i++) {
		desc(i, DATA, 4, 0, 0);
		offer(i);
	}
	for (u16 i = 0; i < SIZE; i++) {
		assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
		assert_int_equal(chain.head, i);
	}
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 0);
}

/* ---- copies ---- */

static void chain_r4_r6_w3_w5(void)
{
	desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA + 0x100, 6, VIRTQ_DESC_F_NEXT, 2);
	desc(2, DATA + 0x200, 3, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	desc(3, DATA + 0x300, 5, VIRTQ_DESC_F_WRITE, 0);
	for (u32 k = 0; k < 4; k++)
		ram[DATA + k] = (u8)('a' + k);
	for (u32 k = 0; k < 6; k++)
		ram[DATA + 0x100 + k] = (u8)('e' + k);
	offer(0);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(chain.readable, 10);
	assert_int_equal(chain.writable, 8);
}

static void test_read_across_buffers(void **state)
{
	char out[16];

	(void)state;
	chain_r4_r6_w3_w5();
	memset(out, 0, sizeof(out));
	assert_int_equal(virtq_read(&mem, &chain, 0, out, 10), 10);
	assert_memory_equal(out, "abcdefghij", 10);
	memset(out, 0, sizeof(out));
	assert_int_equal(virtq_read(&mem, &chain, 2, out, 5), 5);
	assert_memory_equal(out, "cdefg", 5);
	/* Short: the readable part ends; the writable part is not read. */
	memset(out, 0, sizeof(out));
	assert_int_equal(virtq_read(&mem, &chain, 7, out, 16), 3);
	assert_memory_equal(out, "hij", 3);
	assert_int_equal(virtq_read(&mem, &chain, 10, out, 1), 0);
	assert_int_equal(virtq_read(&mem, &chain, ~0ull, out, 1), 0);
	assert_int_equal(virtq_read(&mem, &chain, 0, out, 0), 0);
}

static void test_write_across_buffers(void **state)
{
	(void)state;
	chain_r4_r6_w3_w5();
	assert_int_equal(virtq_write(&mem, &chain, 1, "XYZW", 4), 4);
	assert_memory_equal(&ram[DATA + 0x200], "\0XY", 3);
	assert_memory_equal(&ram[DATA + 0x300], "ZW\0", 3);
	/* Short at the end; the readable buffers are never written. */
	assert_int_equal(virtq_write(&mem, &chain, 6, "12345", 5), 2);
	assert_memory_equal(&ram[DATA + 0x303], "12", 2);
	assert_int_equal(ram[DATA + 0x305], 0);
	assert_memory_equal(&ram[DATA], "abcd", 4);
	assert_int_equal(virtq_write(&mem, &chain, 8, "1", 1), 0);
}

/* ---- the used ring and interrupts ---- */

static void test_push_and_used_idx_wrap(void **state)
{
	(void)state;
	setup_queue(SIZE, 65534);
	assert_int_equal(virtq_push(&q, &mem, 3, 100, why), 0);
	/* Slot 65534 % 8 = 6: { id, len }, then idx. */
	assert_int_equal(get(USED + 4 + 8 * 6, 4), 3);
	assert_int_equal(get(USED + 4 + 8 * 6 + 4, 4), 100);
	assert_int_equal(get(USED + 2, 2), 65535);
	assert_int_equal(virtq_push(&q, &mem, 7, 0, why), 0);
	assert_int_equal(get(USED + 4 + 8 * 7, 4), 7);
	assert_int_equal(get(USED + 2, 2), 0);
	assert_int_equal(virtq_push(&q, &mem, 1, 0xffffffff, why), 0);
	assert_int_equal(get(USED + 4, 4), 1);
	assert_int_equal(get(USED + 8, 4), 0xffffffff);
	assert_int_equal(get(USED + 2, 2), 1);
	assert_int_equal(q.used_idx, 1);
}

static void test_notify_without_event_idx(void **state)
{
	(void)state;
	assert_false(virtq_should_notify(&q, &mem, q.used_idx));
	assert_int_equal(virtq_push(&q, &mem, 0, 0, why), 0);
	assert_true(virtq_should_notify(&q, &mem, 0));
	put(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT, 2);
	assert_false(virtq_should_notify(&q, &mem, 0));
	/* used_event means nothing without the feature. */
	put(AVAIL, 0, 2);
	put(AVAIL + 4 + 2 * SIZE, 40, 2);
	assert_true(virtq_should_notify(&q, &mem, 0));
}

/* Pushes moved used_idx from old to now, the driver's used_event `event`. */
static bool notify_event(u16 old, u16 now, u16 event)
{
	q.used_idx = now;
	put(AVAIL + 4 + 2 * SIZE, event, 2);
	return virtq_should_notify(&q, &mem, old);
}

static void test_notify_with_event_idx(void **state)
{
	(void)state;
	q.event_idx = true;
	/* 5 -> 8 wrote entries 5, 6 and 7 (2.7.7). */
	assert_true(notify_event(5, 8, 5));
	assert_true(notify_event(5, 8, 7));
	assert_false(notify_event(5, 8, 8));
	assert_false(notify_event(5, 8, 4));
	assert_false(notify_event(5, 5, 5));
	/* NO_INTERRUPT is ignored with EVENT_IDX. */
	put(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT, 2);
	assert_true(notify_event(5, 6, 5));
	/* Across the wrap: 65534 -> 1 wrote 65534, 65535 and 0. */
	assert_true(notify_event(65534, 1, 65534));
	assert_true(notify_event(65534, 1, 65535));
	assert_true(notify_event(65534, 1, 0));
	assert_false(notify_event(65534, 1, 1));
	assert_false(notify_event(65534, 1, 65533));
	/* used_event 0 at the start: the first entry interrupts. */
	assert_true(notify_event(0, 1, 0));
}

static void test_pop_publishes_avail_event(void **state)
{
	const u64 avail_event = USED + 4 + 8 * SIZE;

	(void)state;
	q.event_idx = true;
	put(avail_event, 0x5555, 2);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 0);
	assert_int_equal(get(avail_event, 2), 0);
	desc(0, DATA, 4, 0, 0);
	offer(0);
	offer(0);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 0);
	assert_int_equal(get(avail_event, 2), 2);
	/* Without the feature the field is the driver's business. */
	q.event_idx = false;
	put(avail_event, 0x5555, 2);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 0);
	assert_int_equal(get(avail_event, 2), 0x5555);
}

/* ---- indirect tables (2.7.5.3) ---- */

static void test_indirect_table(void **state)
{
	(void)state;
	q.indirect = true;
	desc_at(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	desc_at(TABLE, 2, DATA + 0x100, 100,
		VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc_at(TABLE, 1, DATA + 0x200, 1, VIRTQ_DESC_F_WRITE, 0);
	/* The WRITE flag of the descriptor that refers to it is ignored. */
	desc(4, TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	offer(4);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(chain.head, 4);
	assert_int_equal(chain.count, 3);
	assert_int_equal(chain.readable, 16);
	assert_int_equal(chain.writable, 101);
	assert_int_equal(chain.buf[1].gpa, DATA + 0x100);
	assert_int_equal(chain.buf[2].gpa, DATA + 0x200);
}

static void test_direct_then_indirect(void **state)
{
	(void)state;
	q.indirect = true;
	/* Unaligned table: the spec asks for none. */
	desc_at(TABLE + 8, 0, DATA + 0x100, 8, VIRTQ_DESC_F_WRITE, 0);
	desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, TABLE + 8, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	assert_int_equal(chain.count, 2);
	assert_int_equal(chain.readable, 16);
	assert_int_equal(chain.writable, 8);
}

/* ---- driver errors ---- */

static void test_loop(void **state)
{
	(void)state;
	desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	expect_error("loop", "descriptor 1");
}

static void test_self_loop(void **state)
{
	(void)state;
	desc(2, DATA, 4, VIRTQ_DESC_F_NEXT, 2);
	offer(2);
	expect_error("loop", "descriptor 2");
}

static void test_chain_longer_than_queue(void **state)
{
	(void)state;
	/* 0 -> 1 -> ... -> 7 -> 0: the ninth descriptor would be 0 again. */
	for (u16 i = 0; i < SIZE; i++)
		desc(i, DATA, 4, VIRTQ_DESC_F_NEXT, (u16)((i + 1) % SIZE));
	offer(0);
	expect_error("loop", "longer than 8");
}

static void test_chain_longer_than_max(void **state)
{
	(void)state;
	setup_queue(VIRTQ_MAX_SIZE, 0);
	q.indirect = true;
	/* 255 direct buffers, then an indirect table of 2: 257 in all. */
	for (u16 i = 0; i < VIRTQ_MAX_SIZE - 1; i++)
		desc(i, DATA, 4, VIRTQ_DESC_F_NEXT, (u16)(i + 1));
	desc(VIRTQ_MAX_SIZE - 1, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	desc_at(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	desc_at(TABLE, 1, DATA, 4, 0, 0);
	offer(0);
	expect_error("longer than 256 buffers", "indirect descriptor 1");
}

static void test_next_out_of_range(void **state)
{
	(void)state;
	desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, SIZE);
	offer(0);
	expect_error("next 8 out of range", "descriptor 0");
}

static void test_head_out_of_range(void **state)
{
	(void)state;
	offer(SIZE);
	expect_error("head 8 out of range", "slot 0");
	setup_queue(SIZE, 0);
	offer(0xffff);
	expect_error("head 65535", NULL);
}

static void test_buffer_crosses_end_of_ram(void **state)
{
	(void)state;
	desc(0, RAM_SIZE - 8, 16, 0, 0);
	offer(0);
	expect_error("not in RAM", "descriptor 0");
	/* Ending exactly at the end of RAM is fine. */
	setup_queue(SIZE, 0);
	desc(0, RAM_SIZE - 8, 8, 0, 0);
	offer(0);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
}

static void test_buffer_address_wraps(void **state)
{
	(void)state;
	/* addr + len wraps to 0x10, inside RAM: must still be refused. */
	desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	desc(1, 0xfffffffffffffff0ull, 0x20, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	expect_error("not in RAM", "descriptor 1");
}

static void test_readable_after_writable(void **state)
{
	(void)state;
	desc(0, DATA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc(1, DATA, 4, 0, 0);
	offer(0);
	expect_error("readable after writable", "descriptor 1");
}

static void test_readable_after_writable_in_indirect(void **state)
{
	(void)state;
	q.indirect = true;
	desc(0, DATA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc(1, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	desc_at(TABLE, 0, DATA, 4, 0, 0);
	offer(0);
	expect_error("readable after writable", "indirect descriptor 0");
}

static void test_indirect_not_negotiated(void **state)
{
	(void)state;
	desc_at(TABLE, 0, DATA, 4, 0, 0);
	desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_error("not negotiated", "descriptor 0");
}

static void test_indirect_with_next(void **state)
{
	(void)state;
	q.indirect = true;
	desc_at(TABLE, 0, DATA, 4, 0, 0);
	desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA, 4, 0, 0);
	offer(0);
	expect_error("INDIRECT with NEXT", "descriptor 0");
}

static void test_nested_indirect(void **state)
{
	(void)state;
	q.indirect = true;
	desc_at(TABLE2, 0, DATA, 4, 0, 0);
	desc_at(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	desc_at(TABLE, 1, TABLE2, 16, VIRTQ_DESC_F_INDIRECT, 0);
	desc(0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_error("nested", "indirect descriptor 1");
}

static void test_indirect_length_not_multiple_of_16(void **state)
{
	(void)state;
	q.indirect = true;
	desc(0, TABLE, 24, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_error("multiple of 16", "24");
}

static void test_indirect_table_empty(void **state)
{
	(void)state;
	q.indirect = true;
	desc(0, TABLE, 0, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_error("empty", "descriptor 0");
}

static void test_indirect_table_too_big(void **state)
{
	(void)state;
	q.indirect = true;
	desc(0, TABLE, 16 * (VIRTQ_MAX_CHAIN + 1), VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_error("257 descriptors", "more than 256");
}

static void test_indirect_table_not_in_ram(void **state)
{
	(void)state;
	q.indirect = true;
	desc(0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_error("indirect table", "not in RAM");
	setup_queue(SIZE, 0);
	q.indirect = true;
	desc(0, 0xfffffffffffffff0ull, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_error("indirect table", "not in RAM");
}

static void test_indirect_loop_and_range(void **state)
{
	(void)state;
	q.indirect = true;
	desc_at(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	desc_at(TABLE, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
	desc(0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_error("loop", "indirect descriptor 1");
	setup_queue(SIZE, 0);
	q.indirect = true;
	desc_at(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 2);
	desc(0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_error("next 2 out of range (table of 2)",
		     "indirect descriptor 0");
}

static void test_avail_idx_too_far_ahead(void **state)
{
	(void)state;
	put(AVAIL + 2, SIZE + 1, 2);
	expect_error("avail idx 9", "ahead");
	/* Exactly size ahead is a full ring, fine. */
	setup_queue(SIZE, 0);
	for (u16 i = 0; i < SIZE; i++)
		desc(i, DATA, 4, 0, 0);
	put(AVAIL + 2, SIZE, 2);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), 1);
	/* Behind (the driver decremented idx) is as bad. */
	setup_queue(SIZE, 10);
	put(AVAIL + 2, 9, 2);
	expect_error("ahead", NULL);
}

static void test_queue_not_set_up(void **state)
{
	(void)state;
	virtq_reset(&q);
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), -1);
	assert_int_equal(virtq_push(&q, &mem, 0, 0, why), -1);
	/* Rings moved out of RAM after the check: refused, nothing written. */
	setup_queue(SIZE, 0);
	q.used = RAM_SIZE - 8;
	assert_int_equal(virtq_push(&q, &mem, 0, 0, why), -1);
	assert_non_null(strstr(why, "used ring"));
	assert_int_equal(virtq_pop(&q, &mem, &chain, why), -1);
}

/* ---- virtq_check ---- */

static void test_check_size(void **state)
{
	(void)state;
	q.size = 0;
	expect_check_error("size 0", "power of two");
	q.size = 3;
	expect_check_error("size 3", NULL);
	q.size = 2 * VIRTQ_MAX_SIZE;
	expect_check_error("size 512", NULL);
	q.size = 1;
	assert_int_equal(virtq_check(&q, &mem, why), 0);
	q.size = VIRTQ_MAX_SIZE;
	assert_int_equal(virtq_check(&q, &mem, why), 0);
}

static void test_check_alignment(void **state)
{
	(void)state;
	q.desc = DESC + 8;
	expect_check_error("descriptor table at 0x1008", "16-byte aligned");
	q.desc = DESC;
	q.avail = AVAIL + 1;
	expect_check_error("available ring at 0x2001", "2-byte aligned");
	q.avail = AVAIL + 2;
	assert_int_equal(virtq_check(&q, &mem, why), 0);
	q.used = USED + 2;
	expect_check_error("used ring at 0x3002", "4-byte aligned");
}

static void test_check_rings_in_ram(void **state)
{
	(void)state;
	/* 6 + 8 * 8 = 70 bytes of used ring, 68 left. */
	q.used = RAM_SIZE - 68;
	expect_check_error("used ring", "not in guest RAM");
	q.used = RAM_SIZE - 72;
	assert_int_equal(virtq_check(&q, &mem, why), 0);
	q.avail = RAM_SIZE;
	expect_check_error("available ring", "not in guest RAM");
	q.avail = AVAIL;
	/* Aligned, and desc + 128 wraps past 2^64 into RAM. */
	q.desc = 0xfffffffffffffff0ull;
	expect_check_error("descriptor table", "not in guest RAM");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_one_descriptor, setup),
	    cmocka_unit_test_setup(test_three_descriptors, setup),
	    cmocka_unit_test_setup(test_chain_as_long_as_the_queue, setup),
	    cmocka_unit_test_setup(test_zero_length_buffer_counts, setup),
	    cmocka_unit_test_setup(test_avail_idx_wraps, setup),
	    cmocka_unit_test_setup(test_full_ring, setup),
	    cmocka_unit_test_setup(test_read_across_buffers, setup),
	    cmocka_unit_test_setup(test_write_across_buffers, setup),
	    cmocka_unit_test_setup(test_push_and_used_idx_wrap, setup),
	    cmocka_unit_test_setup(test_notify_without_event_idx, setup),
	    cmocka_unit_test_setup(test_notify_with_event_idx, setup),
	    cmocka_unit_test_setup(test_pop_publishes_avail_event, setup),
	    cmocka_unit_test_setup(test_indirect_table, setup),
	    cmocka_unit_test_setup(test_direct_then_indirect, setup),
	    cmocka_unit_test_setup(test_loop, setup),
	    cmocka_unit_test_setup(test_self_loop, setup),
	    cmocka_unit_test_setup(test_chain_longer_than_queue, setup),
	    cmocka_unit_test_setup(test_chain_longer_than_max, setup),
	    cmocka_unit_test_setup(test_next_out_of_range, setup),
	    cmocka_unit_test_setup(test_head_out_of_range, setup),
	    cmocka_unit_test_setup(test_buffer_crosses_end_of_ram, setup),
	    cmocka_unit_test_setup(test_buffer_address_wraps, setup),
	    cmocka_unit_test_setup(test_readable_after_writable, setup),
	    cmocka_unit_test_setup(test_readable_after_writable_in_indirect,
				   setup),
	    cmocka_unit_test_setup(test_indirect_not_negotiated, setup),
	    cmocka_unit_test_setup(test_indirect_with_next, setup),
	    cmocka_unit_test_setup(test_nested_indirect, setup),
	    cmocka_unit_test_setup(test_indirect_length_not_multiple_of_16,
				   setup),
	    cmocka_unit_test_setup(test_indirect_table_empty, setup),
	    cmocka_unit_test_setup(test_indirect_table_too_big, setup),
	    cmocka_unit_test_setup(test_indirect_table_not_in_ram, setup),
	    cmocka_unit_test_setup(test_indirect_loop_and_range, setup),
	    cmocka_unit_test_setup(test_avail_idx_too_far_ahead, setup),
	    cmocka_unit_test_setup(test_queue_not_set_up, setup),
	    cmocka_unit_test_setup(test_check_size, setup),
	    cmocka_unit_test_setup(test_check_alignment, setup),
	    cmocka_unit_test_setup(test_check_rings_in_ram, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
