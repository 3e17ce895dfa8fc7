/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the dual 8259A (core/vdev/vpic.c), driven by port reads
 * and writes of every width (0x20/0x21, 0xA0/0xA1, the ELCR at
 * 0x4D0/0x4D1, and ports around them), ISA line changes and interrupt
 * acknowledge cycles, decoded from the input.
 *
 * Checked after every step: each chip is in a legal state (initialisation
 * step 0, 2, 3 or 4; priority rotation 0-7; vector base a multiple of 8;
 * only the ELCR bits the PIIX has); the vector presented is -1 or base +
 * IR of a request that is pending, unmasked and not blocked by one in
 * service, and the acknowledge cycle that follows returns that very
 * vector; a spurious acknowledge (IR7, counted) happens only when nothing
 * was presented; the line from the slave to master IR2 follows the
 * slave's output.
 */
#include <string.h>

#include "core/vdev/vpic.h"
#include "tests/fuzz/fuzz.h"

static const u16 ports[] = {0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1,
			    0x22, 0x1f, 0x9f, 0xa2, 0x4cf, 0x4d2};
static const u8 elcr_writable[2] = {0xf8, 0xde}; /* PIIX4 ELCR1 / ELCR2 */

static struct vpic pic;

static void check_chip(const struct vpic_chip *c, int i)
{
	FUZZ_CHECK(c->init_step == 0 ||
		       (c->init_step >= 2 && c->init_step <= 4),
		   "chip %d init step %u", i, c->init_step);
	FUZZ_CHECK(c->lowest_priority <= 7, "chip %d lowest priority %u", i,
		   c->lowest_priority);
	FUZZ_CHECK((c->vector_base & 7) == 0, "chip %d vector base 0x%02x", i,
		   c->vector_base);
	FUZZ_CHECK((c->elcr & ~elcr_writable[i]) == 0, "chip %d ELCR 0x%02x", i,
		   c->elcr);
}

/* The requests a chip has: latched edges and high level inputs. */
static u8 requests(const struct vpic_chip *c)
{
	return (u8)((c->irr & ~c->elcr) | (c->input & c->elcr));
}

/* A chip may present `ir` only if it is requested and unmasked. */
static void check_presented(const struct vpic_chip *c, int ir, int chip)
{
	FUZZ_CHECK(ir >= 0 && ir <= 7, "chip %d presents IR %d", chip, ir);
	FUZZ_CHECK(c->init_step == 0, "chip %d presents while initialising",
		   chip);
	FUZZ_CHECK(requests(c) & ~c->imr & (1u << ir),
		   "chip %d presents IR %d: requests 0x%02x mask 0x%02x", chip,
		   ir, requests(c), c->imr);
}

static void check_state(void)
{
	const struct vpic_chip *m = &pic.chip[0], *s = &pic.chip[1];
	int vector = vpic_pending_vector(&pic);

	check_chip(m, 0);
	check_chip(s, 1);
	FUZZ_CHECK(vector >= -1 && vector <= 255, "vector %d", vector);
	if (vector < 0)
		return;
	/* From the master, or through its IR2 from the slave. */
	bool master = (vector & ~7) == m->vector_base &&
		      !((vector & 7) == VPIC_CASCADE_IRQ && !m->single);
	bool slave = (vector & ~7) == s->vector_base && !m->single &&
		     (requests(m) & ~m->imr & BIT(VPIC_CASCADE_IRQ));

	FUZZ_CHECK(master || slave, "vector %d from neither chip", vector);
	if (master && !slave)
		check_presented(m, vector & 7, 0);
}

/* The CPU's INTA cycle, when the core would inject. */
static void acknowledge(void)
{
	int vector = vpic_pending_vector(&pic);
	u64 spurious = pic.spurious;
	u8 got = vpic_ack(&pic);

	if (vector >= 0)
		FUZZ_CHECK(got == vector, "presented %d, acknowledged %u",
			   vector, got);
	else
		FUZZ_CHECK(pic.spurious == spurious + 1 &&
			       got == pic.chip[0].vector_base + 7,
			   "spurious acknowledge gave %u", got);
}

static void step(struct fuzz_in *in)
{
	static const u8 sizes[] = {1, 2, 4};
	u8 op = fuzz_u8(in);
	u16 port = FUZZ_PICK(in, ports);
	u8 size = FUZZ_PICK(in, sizes);

	switch (op % 6) {
	case 0:
		vpic_write(&pic, port, fuzz_u8(in));
		break;
	case 1:
		(void)vpic_read(&pic, port);
		break;
	case 2: {
		u32 value = vpic_io_read(&pic, port, size);

		FUZZ_CHECK(size == 4 || value < (1u << (size * 8)),
			   "%u-byte read of 0x%x gave 0x%x", size, port, value);
		break;
	}
	case 3:
		vpic_io_write(&pic, port, size, fuzz_u32(in));
		break;
	case 4: {
		u8 irq = fuzz_u8(in) % 18; /* 16, 17: no such line */
		bool ok = vpic_set_irq(&pic, irq, fuzz_bool(in));

		FUZZ_CHECK(ok == (irq < 16 && irq != VPIC_CASCADE_IRQ),
			   "set_irq(%u) returned %d", irq, ok);
		break;
	}
	default:
		acknowledge();
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in(data, size);

	vpic_init(&pic);
	while (!in.done) {
		step(&in);
		check_state();
	}
	return 0;
}
