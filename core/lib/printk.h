/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's console output and its host-fatal stop.
 *
 * The boot code hands in where the text goes (the UART) and how a panic
 * ends (power off); the host unit tests link tests/unit/host_printk.c
 * instead, which records the text for assertions.
 */
#ifndef VENEER_CORE_LIB_PRINTK_H
#define VENEER_CORE_LIB_PRINTK_H

#include "core/lib/types.h"

/* Where console text goes, one character at a time; before this, nowhere. */
void printk_set_output(void (*putc)(char c));

/* What panic() does after its message; it must not return. */
void panic_set_stop(void (*stop)(void));

/*
 * The console's lines. The hypervisor's text (printk, console_write) never
 * continues a line somebody else left unfinished: it starts a fresh line
 * first. Untrusted text (a guest's console output) goes through
 * console_write_tagged() only, so every console line that carries such
 * text starts with its "[TAG] ", and nothing in it can end the line or
 * move the cursor: a guest cannot print what looks like a hypervisor line.
 */

/*
 * How a tag looks: `style(owner)` gives an SGR sequence (ANSI colour,
 * trusted text: core/tagcolor.h) that console_write_tagged() writes
 * before the tag's '[', ending it with SGR 0 ("\033[0m") right after its
 * ']', or NULL for a plain tag. NULL `style` (the default): every tag
 * plain. `style` runs under the console's lock and must not print.
 */
void printk_set_tag_style(const char *(*style)(const void *owner));

/* Write a string to the console without formatting (any context). */
void console_write(const char *s);

/*
 * Write `len` bytes of `owner`'s text as a console line "[TAG] text": the
 * line ends after it when `line_end`, else it stays open for the owner's
 * next call to continue without a second tag. Once anything else was
 * written in between, the continuation starts a new line with the tag
 * again. Control characters in `text` and `tag` (0x00-0x1f but tab, and
 * 0x7f; line feed and carriage return too) are shown in caret notation
 * (^@ ... ^_, ^?), never passed to the terminal. `owner` is any pointer
 * that tells writers apart (a guest's struct vm); NULL is not allowed.
 */
void console_write_tagged(const void *owner, const char *tag, const char *text,
			  size_t len, bool line_end);

/*
 * The operator shell's own line (a prompt and what is typed), trusted
 * text that `owner` keeps open: "\n" ends it, and the hypervisor's next
 * line starts on a fresh line. Returns false, writing nothing, when the
 * open line is not `owner`'s (something else was written since): the
 * caller then writes its whole line again.
 */
bool console_continue_owned(const void *owner, const char *s);
/* Start `owner`'s line afresh with `s` (ending whatever line is open). */
void console_start_owned(const void *owner, const char *s);

/* If `owner` left its line open, end it (a guest that stops or reboots). */
void console_end_line(const void *owner);

/*
 * console_write() without the lock, for the machine's last words (panic,
 * power off) when another CPU may hold it forever: starts a fresh line
 * whoever was writing.
 */
void console_write_unlocked(const char *s);

/* Formats like snformat() (core/lib/format.h) and writes to the console. */
void printk(const char *fmt, ...) __printf(1, 2);

/*
 * Log levels of the hypervisor's own lines (docs/console.md, "Log
 * levels"): one level for the whole console, LOG_INFO at boot, set by
 * [veneer] log_level (docs/config.md) and the shell's `log LEVEL`. A line
 * printed with printk_at() appears when its level is at or below the
 * current one; printk() always prints (errors, the promised end of a run),
 * and so does every guest line (console_write_tagged()): levels filter
 * only the hypervisor's narration.
 *   LOG_ERROR: what went wrong and how the run ends, nothing else;
 *   LOG_INFO:  a guest's life as well (created, started, rebooting, ...);
 *   LOG_DEBUG: detail worth having when looking for a problem.
 */
enum log_level { LOG_ERROR, LOG_INFO, LOG_DEBUG, LOG_LEVEL_COUNT };

/* The level from now on (any CPU; a level out of range is ignored). */
void printk_set_level(enum log_level level);
enum log_level printk_level(void);
/* Whether a line of `level` is printed now. */
bool printk_wants(enum log_level level);
/* printk() when printk_wants(level), else nothing (not even formatting). */
void printk_at(enum log_level level, const char *fmt, ...) __printf(2, 3);

/* "error", "info", "debug". */
static inline const char *log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_ERROR:
		return "error";
	case LOG_INFO:
		return "info";
	case LOG_DEBUG:
		return "debug";
	default:
		return "?";
	}
}

/*
 * The level named by s[0, len) (not NUL-terminated; case-sensitive, as
 * every word of the configuration and the shell): true with *out set, or
 * false. Header-only, so that the configuration's parser, which links no
 * console, can use it.
 */
static inline bool log_level_parse(const char *s, size_t len,
				   enum log_level *out)
{
	for (int l = 0; l < LOG_LEVEL_COUNT; l++) {
		const char *name = log_level_name((enum log_level)l);
		size_t i = 0;

		while (i < len && name[i] && name[i] == s[i])
			i++;
		if (i == len && !name[i]) {
			*out = (enum log_level)l;
			return true;
		}
	}
	return false;
}

/* Prints the message and stops the machine: a host-fatal error. */
void panic(const char *fmt, ...) __printf(1, 2) __noreturn;

#endif /* VENEER_CORE_LIB_PRINTK_H */
