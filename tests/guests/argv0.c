/* SPDX-License-Identifier: MIT */
/*
 * argv0: the multiboot command line starts with the kernel's path, as QEMU
 * -kernel and GRUB Legacy give it, so that a kernel takes argv[0] from its
 * first word and loses none of its arguments (issue 16 item 13;
 * docs/guests.md, "The command line").
 *
 * Checks: the first word is a path ending in "/argv0.elf"; with "argc=N"
 * among the words, there are N words in all, argv[0] included; a word
 * "argv1=..." must be the second word (the harness passes it as the
 * first argument: it must not have been taken for argv[0]). Natively
 * (QEMU -kernel) the same holds.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/multiboot.h"

#define MAX_WORDS 16

struct words {
	unsigned count;
	const char *at[MAX_WORDS];
	size_t len[MAX_WORDS];
};

static void split(const char *s, struct words *w)
{
	w->count = 0;
	while (*s) {
		while (*s == ' ')
			s++;
		if (!*s || w->count == MAX_WORDS)
			break;
		w->at[w->count] = s;
		while (*s && *s != ' ')
			s++;
		w->len[w->count] = (size_t)(s - w->at[w->count]);
		w->count++;
	}
}

static bool word_is(const struct words *w, unsigned i, const char *s, size_t n)
{
	size_t k;

	if (i >= w->count || w->len[i] != n)
		return false;
	for (k = 0; k < n; k++)
		if (w->at[i][k] != s[k])
			return false;
	return true;
}

static bool ends_with(const struct words *w, unsigned i, const char *suffix)
{
	size_t n = str_len(suffix);

	if (i >= w->count || w->len[i] < n)
		return false;
	for (size_t k = 0; k < n; k++)
		if (w->at[i][w->len[i] - n + k] != suffix[k])
			return false;
	return true;
}

void guest_main(const struct multiboot_info *mbi)
{
	const char *cmdline = guest_cmdline(mbi);
	const char *v;
	struct words w;
	u64 argc;

	guest_printf("argv0: command line \"%s\"\n", cmdline);
	split(cmdline, &w);
	for (unsigned i = 0; i < w.count; i++) {
		char word[64];
		size_t n =
		    w.len[i] < sizeof(word) ? w.len[i] : sizeof(word) - 1;

		memcpy(word, w.at[i], n);
		word[n] = '\0';
		guest_printf("argv0: argv[%u] = \"%s\"\n", i, word);
	}
	EXPECT_TRUE(ends_with(&w, 0, "/argv0.elf"),
		    "argv[0] is the kernel's path (ends in /argv0.elf)");
	v = cmdline_value(cmdline, "argc");
	if (v && parse_u64(v, &argc))
		EXPECT_EQ(w.count, argc, "argc= words on the command line");
	else
		guest_skip("argc= words on the command line (none given)");
	v = cmdline_value(cmdline, "argv1");
	if (v) {
		size_t n = 0;

		while (v[n] && v[n] != ' ')
			n++;
		/* The whole word, "argv1=" included. */
		EXPECT_TRUE(word_is(&w, 1, v - 6, n + 6),
			    "argv[1] is the first argument (argv1=...)");
	} else {
		guest_skip("argv[1] is the first argument (no argv1= given)");
	}
}
