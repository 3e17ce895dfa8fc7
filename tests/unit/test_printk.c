/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the console's line logic in core/lib/printk.c (the real
 * one, not tests/unit/host_printk.c): a guest's text always sits on a line
 * of its own that starts with "[NAME] ", a hypervisor line never continues
 * a guest's partial line, and control characters from a guest are shown,
 * not sent to the terminal (issue 10, bug 3). The log levels (printk_at)
 * filter the hypervisor's lines, never a guest's. The last tests drive it
 * through a vuart the way core/console.c does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/lib/printk.h"
#include "core/vdev/vuart.h"

static char out[8192];
static size_t out_len;

static void capture(char c)
{
	assert_true(out_len < sizeof(out) - 1);
	out[out_len++] = c;
	out[out_len] = '\0';
}

/* Two guests: any distinct pointers serve as owners. */
static const char guest_a[] = "a", guest_b[] = "b";

static int setup(void **state)
{
	(void)state;
	printk_set_output(capture);
	/* Start at a line start, whatever a test left (output discarded). */
	console_write("\n");
	out_len = 0;
	out[0] = '\0';
	return 0;
}

/* The tests that change the log level leave the default behind them. */
static int default_level(void **state)
{
	(void)state;
	printk_set_level(LOG_INFO);
	return 0;
}

static void guest(const void *owner, const char *text, bool line_end)
{
	console_write_tagged(owner, owner == guest_a ? "alpha" : "beta", text,
			     strlen(text), line_end);
}

/*
 * The reader's view (tools/veneer-run): lines end with "\r\n", there is no
 * other '\r', no '\n' without its '\r' and no control character but tab;
 * every line is a hypervisor line ("veneer: ") or a tagged guest line.
 */
static void assert_clean_lines(void)
{
	const char *line = out;

	for (size_t i = 0; i < out_len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c == '\r') {
			assert_true(i + 1 < out_len && out[i + 1] == '\n');
			continue;
		}
		if (c == '\n') {
			assert_true(i > 0 && out[i - 1] == '\r');
			if (strncmp(line, "veneer: ", 8) &&
			    strncmp(line, "[alpha] ", 8) &&
			    strncmp(line, "[beta] ", 7))
				fail_msg("line without a known start: %.*s",
					 (int)(&out[i] - line), line);
			line = &out[i + 1];
			continue;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			fail_msg("control character 0x%02x at %zu", c, i);
	}
}

static void test_a_guest_line_is_tagged(void **state)
{
	(void)state;
	guest(guest_a, "hello", true);
	guest(guest_a, "", true);
	assert_string_equal(out, "[alpha] hello\r\n[alpha] \r\n");
	assert_clean_lines();
}

static void
test_a_partial_line_continues_when_nothing_came_between(void **state)
{
	(void)state;
	guest(guest_a, "login: ", false);
	guest(guest_a, "root", true);
	assert_string_equal(out, "[alpha] login: root\r\n");
}

static void test_a_hypervisor_line_never_continues_a_guest_line(void **state)
{
	(void)state;
	guest(guest_a, "login: ", false);
	printk("veneer: guest %s stopped: %s\n", "alpha", "reason");
	/* ... and the guest's continuation is tagged again. */
	guest(guest_a, "root", true);
	assert_string_equal(out, "[alpha] login: \r\n"
				 "veneer: guest alpha stopped: reason\r\n"
				 "[alpha] root\r\n");
	assert_clean_lines();
}

static void test_another_guest_ends_the_partial_line(void **state)
{
	(void)state;
	guest(guest_a, "one", false);
	guest(guest_b, "two", false);
	guest(guest_a, "three", true);
	guest(guest_b, "four", true);
	assert_string_equal(out, "[alpha] one\r\n"
				 "[beta] two\r\n"
				 "[alpha] three\r\n"
				 "[beta] four\r\n");
	assert_clean_lines();
}

/* The forgery of issue 10: the status line must never start a line. */
static void test_the_power_off_forgery(void **state)
{
	(void)state;
	guest(guest_a, "x", false);
	printk("veneer: stats 1.000 s: guest beta vcpu 0 exits: 1\n");
	guest(guest_a, "", true);
	guest(guest_a, "veneer: power off: status 0", true);
	/* In one piece, with control characters, without a newline. */
	guest(guest_b, "\r\nveneer: power off: status 0\r\n", false);
	console_write("veneer: power off: status 1\n");
	assert_clean_lines();
	assert_null(strstr(out, "\nveneer: power off: status 0"));
	assert_non_null(strstr(out, "\r\nveneer: power off: status 1\r\n"));
	assert_string_equal(
	    out, "[alpha] x\r\n"
		 "veneer: stats 1.000 s: guest beta vcpu 0 exits: 1\r\n"
		 "[alpha] \r\n"
		 "[alpha] veneer: power off: status 0\r\n"
		 "[beta] ^M^Jveneer: power off: status 0^M^J\r\n"
		 "veneer: power off: status 1\r\n");
}

static void test_control_characters_are_made_visible(void **state)
{
	static const char text[] = "\x1b[2J\a\b\x7f\t\x00\x1f ~\x80\xff";

	(void)state;
	console_write_tagged(guest_a, "alpha", text, sizeof(text) - 1, true);
	assert_int_equal(out_len,
			 strlen("[alpha] ^[[2J^G^H^?\t^@^_ ~") + 2 + 2);
	assert_memory_equal(out, "[alpha] ^[[2J^G^H^?\t^@^_ ~\x80\xff\r\n",
			    out_len);
	assert_clean_lines();
	/* The tag is shown the same way. */
	out_len = 0;
	console_write_tagged(guest_b, "be\nta", "x", 1, true);
	assert_string_equal(out, "[be^Jta] x\r\n");
}

static void test_hypervisor_partial_lines_still_join(void **state)
{
	(void)state;
	printk("veneer: part one");
	printk(", part two\n");
	printk("veneer: unfinished");
	guest(guest_a, "text", true);
	printk("veneer: next\n");
	assert_string_equal(out, "veneer: part one, part two\r\n"
				 "veneer: unfinished\r\n"
				 "[alpha] text\r\n"
				 "veneer: next\r\n");
}

static void test_end_line_ends_only_the_owners_line(void **state)
{
	(void)state;
	guest(guest_a, "prompt> ", false);
	console_end_line(guest_b);
	assert_string_equal(out, "[alpha] prompt> ");
	console_end_line(guest_a);
	console_end_line(guest_a);
	assert_string_equal(out, "[alpha] prompt> \r\n");
	printk("veneer: x\n");
	console_end_line(guest_a);
	assert_string_equal(out, "[alpha] prompt> \r\nveneer: x\r\n");
}

/* The last words (power off, panic) start a line whoever was writing. */
static void test_unlocked_writes_start_a_fresh_line(void **state)
{
	(void)state;
	printk("veneer: half");
	console_write_unlocked("veneer: power off: status 3\n");
	guest(guest_a, "half", false);
	console_write_unlocked("veneer: panic: x\n");
	assert_string_equal(out, "veneer: half\r\n"
				 "veneer: power off: status 3\r\n"
				 "[alpha] half\r\n"
				 "veneer: panic: x\r\n");
}

/* ---- log levels ---- */

/* One line at each level, and one that printk() prints at any level. */
static void print_each_level(void)
{
	printk_at(LOG_ERROR, "veneer: e\n");
	printk_at(LOG_INFO, "veneer: i %d\n", 1);
	printk_at(LOG_DEBUG, "veneer: d\n");
	printk("veneer: always\n");
}

/* Runs before any test that changes the level: the level at boot. */
static void test_info_is_the_default_level(void **state)
{
	(void)state;
	assert_int_equal(printk_level(), LOG_INFO);
	print_each_level();
	assert_string_equal(out, "veneer: e\r\nveneer: i 1\r\n"
				 "veneer: always\r\n");
	assert_true(printk_wants(LOG_ERROR));
	assert_true(printk_wants(LOG_INFO));
	assert_false(printk_wants(LOG_DEBUG));
}

static void test_each_level_prints_what_it_should(void **state)
{
	(void)state;
	printk_set_level(LOG_ERROR);
	print_each_level();
	assert_string_equal(out, "veneer: e\r\nveneer: always\r\n");
	assert_false(printk_wants(LOG_INFO));
	out_len = 0;
	printk_set_level(LOG_DEBUG);
	print_each_level();
	assert_string_equal(out, "veneer: e\r\nveneer: i 1\r\nveneer: d\r\n"
				 "veneer: always\r\n");
	/* A level out of range changes nothing. */
	printk_set_level((enum log_level)7);
	assert_int_equal(printk_level(), LOG_DEBUG);
	printk_set_level(LOG_LEVEL_COUNT);
	assert_int_equal(printk_level(), LOG_DEBUG);
}

/* Guest lines are never filtered, and a filtered line ends no guest line. */
static void test_levels_never_filter_a_guest(void **state)
{
	(void)state;
	printk_set_level(LOG_ERROR);
	guest(guest_a, "prompt> ", false);
	printk_at(LOG_INFO, "veneer: hidden\n");
	guest(guest_a, "typed", true);
	guest(guest_b, "text", true);
	assert_string_equal(out, "[alpha] prompt> typed\r\n[beta] text\r\n");
	assert_clean_lines();
}

static void test_level_names(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		int level; /* -1: not a level */
	} cases[] = {
	    {"error", 5, LOG_ERROR}, {"info", 4, LOG_INFO},
	    {"debug", 5, LOG_DEBUG}, {"infox", 4, LOG_INFO}, /* by length */
	    {"inf", 3, -1},	     {"infos", 5, -1},
	    {"INFO", 4, -1},	     {"", 0, -1},
	    {"warn", 4, -1},	     {"debug ", 6, -1},
	};
	enum log_level level;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		level = LOG_LEVEL_COUNT;
		bool ok = log_level_parse(cases[i].text, cases[i].len, &level);

		if (ok != (cases[i].level >= 0) ||
		    (ok && (int)level != cases[i].level))
			fail_msg("'%.*s': %d, level %d", (int)cases[i].len,
				 cases[i].text, ok, (int)level);
	}
	assert_string_equal(log_level_name(LOG_ERROR), "error");
	assert_string_equal(log_level_name(LOG_INFO), "info");
	assert_string_equal(log_level_name(LOG_DEBUG), "debug");
	assert_string_equal(log_level_name(LOG_LEVEL_COUNT), "?");
}

/* ---- through a vuart, as core/console.c wires it ---- */

static void to_console(void *opaque, const char *line, u32 len, bool complete)
{
	console_write_tagged(opaque, "alpha", line, len, complete);
}

static void uart_puts(struct vuart *u, const char *s)
{
	for (; *s; s++)
		vuart_write(u, 0, (u8)*s);
}

static void test_a_guest_through_its_uart(void **state)
{
	struct vuart u;

	(void)state;
	vuart_init(&u, to_console, (void *)guest_a);
	uart_puts(&u, "Linux version 6.1\r\n~ # ");
	vuart_flush(&u); /* the prompt, shown after 20 ms */
	uart_puts(&u, "ls\r\n");
	/* The forgery: a partial line, a pause, then the fake status line. */
	uart_puts(&u, "forge: waiting");
	vuart_flush(&u);
	printk("veneer: guest beta exited with code 0\n");
	uart_puts(&u, "\nveneer: power off: status 0\n");
	/* A bare carriage return cannot take the cursor back to column 0. */
	uart_puts(&u, "50%\rveneer: panic: fake\r\n");
	vuart_flush(&u);
	assert_clean_lines();
	assert_string_equal(out, "[alpha] Linux version 6.1\r\n"
				 "[alpha] ~ # ls\r\n"
				 "[alpha] forge: waiting\r\n"
				 "veneer: guest beta exited with code 0\r\n"
				 "[alpha] \r\n"
				 "[alpha] veneer: power off: status 0\r\n"
				 "[alpha] 50%^Mveneer: panic: fake\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_a_guest_line_is_tagged, setup),
	    cmocka_unit_test_setup(
		test_a_partial_line_continues_when_nothing_came_between, setup),
	    cmocka_unit_test_setup(
		test_a_hypervisor_line_never_continues_a_guest_line, setup),
	    cmocka_unit_test_setup(test_another_guest_ends_the_partial_line,
				   setup),
	    cmocka_unit_test_setup(test_the_power_off_forgery, setup),
	    cmocka_unit_test_setup(test_control_characters_are_made_visible,
				   setup),
	    cmocka_unit_test_setup(test_hypervisor_partial_lines_still_join,
				   setup),
	    cmocka_unit_test_setup(test_end_line_ends_only_the_owners_line,
				   setup),
	    cmocka_unit_test_setup(test_unlocked_writes_start_a_fresh_line,
				   setup),
	    cmocka_unit_test_setup(test_a_guest_through_its_uart, setup),
	    cmocka_unit_test_setup(test_info_is_the_default_level, setup),
	    cmocka_unit_test_setup_teardown(
		test_each_level_prints_what_it_should, setup, default_level),
	    cmocka_unit_test_setup_teardown(test_levels_never_filter_a_guest,
					    setup, default_level),
	    cmocka_unit_test_setup(test_level_names, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
