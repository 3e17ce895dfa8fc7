/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the guests' tag colours: the palette (core/tagcolor.c)
 * and what the console writes with it (core/lib/printk.c's tag style, as
 * core/console.c sets it for color=on): "<SGR>[NAME]<SGR 0> text" for a
 * guest's line, the hypervisor's lines untouched, the tag's control bytes
 * still shown visibly, and nothing coloured while the style is off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/lib/printk.h"
#include "core/tagcolor.h"

static char out[4096];
static size_t out_len;

static void capture(char c)
{
	assert_true(out_len < sizeof(out) - 1);
	out[out_len++] = c;
	out[out_len] = '\0';
}

/* Guests as core/console.c sees them: the owner gives the slot. */
struct guest {
	u32 slot;
	const char *name;
};

static const struct guest first = {0, "alpha"}, second = {1, "beta"};

static const char *style(const void *owner)
{
	return tagcolor_sgr(((const struct guest *)owner)->slot);
}

static int setup(void **state)
{
	(void)state;
	printk_set_output(capture);
	printk_set_tag_style(NULL);
	console_write("\n");
	out_len = 0;
	out[0] = '\0';
	return 0;
}

static void line(const struct guest *g, const char *text, bool end)
{
	console_write_tagged(g, g->name, text, strlen(text), end);
}

/* Every slot of VM_MAX (16) has a colour of its own, all SGR sequences. */
static void test_palette(void **state)
{
	(void)state;
	assert_int_equal(TAGCOLOR_COUNT, 16);
	for (u32 i = 0; i < TAGCOLOR_COUNT; i++) {
		const char *s = tagcolor_sgr(i);
		size_t n = strlen(s);

		/* CSI ... m, digits and ';' only between (ECMA-48 8.3.117) */
		assert_true(n >= 4);
		assert_memory_equal(s, "\033[", 2);
		assert_int_equal(s[n - 1], 'm');
		for (size_t k = 2; k < n - 1; k++)
			assert_true((s[k] >= '0' && s[k] <= '9') ||
				    s[k] == ';');
		/* Never SGR 0 alone, black (30) or white (37): invisible on
		 * one background or the other, or no colour at all. */
		assert_string_not_equal(s, "\033[0m");
		assert_string_not_equal(s, "\033[30m");
		assert_string_not_equal(s, "\033[37m");
		for (u32 j = 0; j < i; j++)
			assert_string_not_equal(s, tagcolor_sgr(j));
	}
	/* Past the palette: round again, never out of bounds. */
	assert_string_equal(tagcolor_sgr(TAGCOLOR_COUNT), tagcolor_sgr(0));
	assert_string_equal(tagcolor_sgr(0xffffffffu),
			    tagcolor_sgr(0xffffffffu % TAGCOLOR_COUNT));
}

/* Off (the default): the tags of docs/boot-log.md, byte for byte. */
static void test_plain_by_default(void **state)
{
	(void)state;
	line(&first, "hello", true);
	assert_string_equal(out, "[alpha] hello\r\n");
}

/* On: the tag alone in its slot's colour; the text and the hypervisor's
 * lines plain. */
static void test_tags_in_colour(void **state)
{
	(void)state;
	printk_set_tag_style(style);
	line(&first, "one", true);
	line(&second, "two", true);
	printk("veneer: a hypervisor line\n");
	assert_string_equal(out, "\033[32m[alpha]\033[0m one\r\n"
				 "\033[36m[beta]\033[0m two\r\n"
				 "veneer: a hypervisor line\r\n");
}

/* A partial line continued by its owner gets no second tag; one broken
 * by somebody else gets its coloured tag again. */
static void test_partial_lines(void **state)
{
	(void)state;
	printk_set_tag_style(style);
	line(&first, "abc", false);
	line(&first, "def", true);
	line(&second, "x", false);
	printk("veneer: between\n");
	line(&second, "y", true);
	assert_string_equal(out, "\033[32m[alpha]\033[0m abcdef\r\n"
				 "\033[36m[beta]\033[0m x\r\n"
				 "veneer: between\r\n"
				 "\033[36m[beta]\033[0m y\r\n");
}

/* The colour is the console's; what is inside the tag and the text is
 * still shown visibly: a guest cannot send its own escape sequences. */
static void test_guest_bytes_stay_visible(void **state)
{
	static const struct guest odd = {2, "e\033[31m"};

	(void)state;
	printk_set_tag_style(style);
	line(&odd, "\033[2J", true);
	assert_string_equal(out, "\033[33m[e^[[31m]\033[0m ^[[2J\r\n");
}

/* Off again: plain again. */
static void test_off_again(void **state)
{
	(void)state;
	printk_set_tag_style(style);
	printk_set_tag_style(NULL);
	line(&second, "plain", true);
	assert_string_equal(out, "[beta] plain\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_palette, setup),
	    cmocka_unit_test_setup(test_plain_by_default, setup),
	    cmocka_unit_test_setup(test_tags_in_colour, setup),
	    cmocka_unit_test_setup(test_partial_lines, setup),
	    cmocka_unit_test_setup(test_guest_bytes_stay_visible, setup),
	    cmocka_unit_test_setup(test_off_again, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
