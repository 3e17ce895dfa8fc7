/* SPDX-License-Identifier: MIT */
/*
 * The 8254 PIT's channel 2 as test kernels time with it: gated and read
 * back through port 0x61 (port B), the PC's speaker channel (8254 data
 * sheet: mode 0 counts down once and raises OUT).
 */
#ifndef VENEER_TESTS_GUESTS_LIB_PIT_H
#define VENEER_TESTS_GUESTS_LIB_PIT_H

#define PIT_CH2		 0x42
#define PIT_COMMAND	 0x43
#define PORT_B		 0x61
#define PORT_B_GATE2	 0x01
#define PORT_B_SPEAKER	 0x02
#define PORT_B_OUT2	 0x20
#define PIT_CH2_MODE0	 0xb0 /* channel 2, low then high byte, mode 0 */
#define PIT_CH2_LATCH	 0x80 /* counter latch command, channel 2 */
#define PIT_HZ		 1193182
#define PIT_TICKS_PER_MS 1193 /* 1.193182 MHz */

#endif /* VENEER_TESTS_GUESTS_LIB_PIT_H */
