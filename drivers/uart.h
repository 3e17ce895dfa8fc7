/* SPDX-License-Identifier: MIT */
/*
 * 16550 UARTs of the real machine: the hypervisor's console, and the
 * serial ports guests own (docs/console.md, "A serial port of its own"),
 * all polled, none raising an interrupt.
 */
#ifndef VENEER_DRIVERS_UART_H
#define VENEER_DRIVERS_UART_H

#include "core/lib/types.h"

#define UART_COM1 0x3f8

/* Program the UART at `port` for `baud` 8N1, FIFOs on, interrupts off. */
void uart_init(u16 port, u32 baud);
/* Write one byte, waiting for room in the transmit holding register. */
void uart_putc(char c);
/*
 * Wait until every byte written has left the transmitter, the guests'
 * ports' transmit rings included (bounded: a port that does not drain is
 * given up on).
 */
void uart_flush(void);
/* One received byte, or -1 when none is waiting. */
int uart_getc(void);
/*
 * Move received bytes from the UART into the driver's ring, where
 * uart_getc() finds them: for a CPU with nothing else to do, so that input
 * typed or pasted while the CPUs running guests are busy is not lost. It
 * keeps the guests' ports going too (uart_lines_service()).
 */
void uart_rx_drain(void);
/* Bytes the ring had to drop because nobody took input. */
u64 uart_rx_dropped(void);
/* The port in use (UART_COM1 before uart_init). */
u16 uart_port(void);
/* The console's speed, which the guests' ports get too. */
u32 uart_baud(void);

/*
 * A port a guest owns is a "line" 0 .. UART_LINES - 1 (COM1-COM4 in
 * core/serialport.h's order). The driver keeps a transmit ring and a
 * receive ring per line, so that the UART's 16-byte FIFOs are filled and
 * emptied by whichever CPU polls: the owner's CPU at its exits, and CPUs
 * with nothing else to do. A line's bytes only ever go between its UART
 * and its rings; which guest reads and writes the rings is core's
 * business (core/console.c).
 */
#define UART_LINES	  4
#define UART_LINE_TX_SIZE 4096 /* HC_CONSOLE_WRITE_MAX fits */
#define UART_LINE_RX_SIZE 1024

/*
 * Whether a 16550 answers at `port`: NULL when one does, else why not
 * ("its line status register reads 0xff", "its scratch register does not
 * keep what is written"). Touches only the scratch register (restored)
 * and reads LSR.
 */
const char *uart_probe(u16 port);
/*
 * Take the UART at `port` as `line`: the console's speed, 8N1, FIFOs on
 * and cleared, interrupts off, both rings empty.
 */
void uart_line_open(u32 line, u16 port);
/* Stop serving `line` (its UART is left as it is). */
void uart_line_close(u32 line);
/* One byte out: into the transmit ring, and on to the UART as far as it
 * takes bytes now. False when the ring is full: the byte is lost. */
bool uart_line_send(u32 line, u8 byte);
/* Free bytes in the transmit ring, after moving to the UART what it takes
 * now. */
u32 uart_line_room(u32 line);
/* Everything sent has left: the ring is empty and so is the UART's
 * transmitter. */
bool uart_line_idle(u32 line);
/* One received byte, or -1 when none is waiting. */
int uart_line_getc(u32 line);
/* Forget the bytes received and not yet taken (a guest that reboots). */
void uart_line_discard_input(u32 line);
/* Move bytes both ways between the line's rings and its UART. */
void uart_line_service(u32 line);
/* uart_line_service() for every open line not busy on another CPU. */
void uart_lines_service(void);

#endif /* VENEER_DRIVERS_UART_H */
