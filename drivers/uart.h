/* SPDX-License-Identifier: MIT */
/*
 * 16550 UART of the real machine: the hypervisor's console.
 */
#ifndef VENEER_DRIVERS_UART_H
#define VENEER_DRIVERS_UART_H

#include "core/lib/types.h"

#define UART_COM1 0x3f8

/* Program the UART at `port` for `baud` 8N1, FIFOs on, interrupts off. */
void uart_init(u16 port, u32 baud);
/* Write one byte, waiting for room in the transmit holding register. */
void uart_putc(char c);
/* Wait until every byte written has left the transmitter. */
void uart_flush(void);
/* One received byte, or -1 when none is waiting. */
int uart_getc(void);
/*
 * Move received bytes from the UART into the driver's ring, where
 * uart_getc() finds them: for a CPU with nothing else to do, so that input
 * typed or pasted while the CPUs running guests are busy is not lost.
 */
void uart_rx_drain(void);
/* Bytes the ring had to drop because nobody took input. */
u64 uart_rx_dropped(void);
/* The port in use (UART_COM1 before uart_init). */
u16 uart_port(void);

#endif /* VENEER_DRIVERS_UART_H */
