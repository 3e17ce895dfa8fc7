/* SPDX-License-Identifier: MIT */
/*
 * The names of the exit kinds (core/exit.h), as the statistics lines and
 * stop reasons show them (docs/boot-log.md). A floor below everything
 * that prints exits: the run loop, the statistics, the operator shell.
 */
#include "core/exit.h"

static const char *const exit_kind_names[EXIT_KIND_COUNT] = {
    [EXIT_NONE] = "none",
    [EXIT_CPUID] = "cpuid",
    [EXIT_IO] = "io",
    [EXIT_MSR_READ] = "rdmsr",
    [EXIT_MSR_WRITE] = "wrmsr",
    [EXIT_HLT] = "hlt",
    [EXIT_HYPERCALL] = "hypercall",
    [EXIT_CR_ACCESS] = "cr-access",
    [EXIT_XSETBV] = "xsetbv",
    [EXIT_EXTERNAL_INTR] = "external-interrupt",
    [EXIT_NMI] = "nmi",
    [EXIT_INTR_WINDOW] = "interrupt-window",
    [EXIT_PREEMPT_TIMER] = "preemption-timer",
    [EXIT_TRIPLE_FAULT] = "triple-fault",
    [EXIT_GPA_FAULT] = "gpa-fault",
    [EXIT_EXCEPTION] = "exception",
    [EXIT_INIT] = "init",
    [EXIT_SIPI] = "sipi",
    [EXIT_INVALID_INSN] = "invalid-instruction",
    [EXIT_ENTRY_FAILED] = "entry-failed",
    [EXIT_UNKNOWN] = "unknown",
    [EXIT_NMI_WINDOW] = "nmi-window",
    [EXIT_TASK_SWITCH] = "task-switch",
    [EXIT_CPU_INSN] = "cpu-insn",
    [EXIT_PAUSE] = "pause",
    [EXIT_APIC_EOI] = "apic-eoi",
};

const char *exit_kind_name(enum exit_kind kind)
{
	if ((u32)kind >= EXIT_KIND_COUNT || !exit_kind_names[kind])
		return "invalid";
	return exit_kind_names[kind];
}
