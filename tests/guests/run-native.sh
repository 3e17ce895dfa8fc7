#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Runs every test guest natively on QEMU (TCG, -cpu max): the baseline that
# Veneer's runs are compared with. A guest passes when QEMU's exit status is
# 1 (debug-exit code 0: status = code << 1 | 1), its last line is "PASS"
# and the lines it must print appear. Then a few runs that MUST fail check
# that failure is detected at all.
#
#   tests/guests/run-native.sh            all guests (after `make guests`)
#   tests/guests/run-native.sh pio msr    only these
#
# Logs: $BUILD/guests/native/NAME.log (BUILD defaults to build).

set -u
BUILD=${BUILD:-build}
OUT=$BUILD/guests
LOGS=$OUT/native
TIMEOUT=${TIMEOUT:-60}
QEMU=${QEMU:-qemu-system-x86_64}
mkdir -p "$LOGS"

ALL_GUESTS="hello cpuid pio msr hlt hypercall ram outside exceptions long64 realmode msrfid taskgate argv0 nmi apicoff porta acpisleep tscsteady tscaux singlestep cr4rsvd prefixes cpuinsn hcuser isolation smp heartbeat virtio_hostile netpeer"
GUESTS=${*:-$ALL_GUESTS}

# Lines each guest must print besides the final PASS (extended regexps).
declare -A MUST_PRINT=(
	[hello]='^hello from a Veneer guest'
	[pio]='^pio: this line was written by rep outsb'
	[outside]='^outside: about to read 0x[0-9a-f]+'
	[ram]='^ram: [0-9]+ MiB checked'
	[long64]='^long64: hello from 64-bit mode'
	[realmode]='^realmode: hello from real mode'
	[heartbeat]='^heartbeat: largest gap [0-9]+ us'
)
# Command lines: veneer=0 makes a guest fail if it finds itself under
# Veneer; ram_mib matches -m below.
MEMORY_MIB=128
declare -A CMDLINE=(
	[ram]="veneer=0 ram_mib=$MEMORY_MIB"
)
# The last line, where it is not PASS: the isolation guest announces its
# final step (final=none: its exit) after PASS.
declare -A LAST_LINE=(
	[isolation]="isolation: final: none: expect exit 0"
)
# Extra QEMU options: smp needs processors to start.
declare -A QEMU_EXTRA=(
	[smp]="-smp 3"
)

failures=0

# run_qemu NAME LOG CMDLINE: runs the guest, output to LOG; returns QEMU's
# exit status (124 on timeout).
run_qemu() {
	local name=$1 log=$2 cmdline=$3 image
	local common=(-accel tcg -cpu max -m "$MEMORY_MIB" -serial stdio
		-display none -monitor none -no-reboot
		-device isa-debug-exit,iobase=0xf4,iosize=4)
	if [ "$name" = realmode ]; then
		# A boot sector: pad it to a 1.44 MB floppy and let the BIOS
		# load it at 0x7C00.
		image=$LOGS/realmode-floppy.img
		cp "$OUT/realmode.bin" "$image" && truncate -s 1474560 "$image"
		timeout "$TIMEOUT" "$QEMU" "${common[@]}" -boot a \
			-drive "format=raw,file=$image,if=floppy" \
			</dev/null >"$log" 2>&1
	else
		# shellcheck disable=SC2086 # QEMU_EXTRA is words on purpose
		timeout "$TIMEOUT" "$QEMU" "${common[@]}" ${QEMU_EXTRA[$name]:-} \
			-kernel "$OUT/$name.elf" -append "$cmdline" \
			</dev/null >"$log" 2>&1
	fi
}

last_line() {
	tr -d '\r' <"$1" | grep -v '^$' | tail -n 1
}

check_guest() {
	local name=$1 log=$LOGS/$1.log status why=""
	local image=$OUT/$name.elf
	[ "$name" = realmode ] && image=$OUT/realmode.bin
	if [ ! -f "$image" ]; then
		echo "FAIL  $name: $image missing (run make guests)"
		failures=$((failures + 1))
		return
	fi
	run_qemu "$name" "$log" "${CMDLINE[$name]:-veneer=0}"
	status=$?
	if [ $status -eq 124 ]; then
		why="timed out after ${TIMEOUT}s"
	elif [ $status -ne 1 ]; then
		why="QEMU exit status $status (guest exit code $((status >> 1))), want 1 (code 0)"
	elif [ "$(last_line "$log")" != "${LAST_LINE[$name]:-PASS}" ]; then
		why="last line is '$(last_line "$log")', want '${LAST_LINE[$name]:-PASS}'"
	elif [ -n "${MUST_PRINT[$name]:-}" ] &&
		! tr -d '\r' <"$log" | grep -Eq "${MUST_PRINT[$name]}"; then
		why="no line matching '${MUST_PRINT[$name]}'"
	fi
	local counts
	counts="$(grep -c '^PASS:' "$log") pass, $(grep -c '^SKIP:' "$log") skip"
	if [ -n "$why" ]; then
		echo "FAIL  $name: $why (log: $log)"
		grep -E '^(FAIL|SKIP)' "$log" | sed 's/^/        /'
		failures=$((failures + 1))
	else
		echo "PASS  $name ($counts)"
	fi
}

# expect_failure NAME CMDLINE WHAT: the guest must end with exit code 1 and
# a final FAIL line.
expect_failure() {
	local name=$1 cmdline=$2 what=$3 log=$LOGS/$1-must-fail.log status
	run_qemu "$name" "$log" "$cmdline"
	status=$?
	if [ $status -eq 3 ] && [ "$(last_line "$log")" = FAIL ]; then
		echo "PASS  $name fails as it must: $what"
	else
		echo "FAIL  $name should have failed ($what): QEMU status $status, last line '$(last_line "$log")' (log: $log)"
		failures=$((failures + 1))
	fi
}

for g in $GUESTS; do
	case " $ALL_GUESTS " in
	*" $g "*) check_guest "$g" ;;
	*) echo "FAIL  unknown guest '$g' (known: $ALL_GUESTS)"
	   failures=$((failures + 1)) ;;
	esac
done

if [ $# -eq 0 ]; then
	expect_failure ram "ram_mib=$((MEMORY_MIB / 2))" "ram_mib disagrees with -m"
	expect_failure cpuid "veneer=1" "veneer=1 given but not under Veneer"
	expect_failure outside "outside_addr=0xzz" "bad outside_addr"
fi

if [ $failures -ne 0 ]; then
	echo "native: $failures failure(s)"
	exit 1
fi
echo "native: all passed"
