#!/usr/bin/env python3
"""Types keys at a program's prompt on a pseudo-terminal, and prints what the screen showed.

Usage: type-at-console.py PROMPT KEYS COMMAND [ARG ...]

Runs COMMAND on a pseudo-terminal of its own, waits until the screen shows PROMPT and the
terminal has left echo mode, sends KEYS, and prints everything the screen showed until
COMMAND ended. Fails (exit 1, the screen so far on standard error) when the prompt, the end
of echo mode or the end of COMMAND does not come within 60 seconds each.

Why the wait for echo mode: Wine's console takes a Unix terminal (no echo, no line editing)
only while a program reads from it, a moment after the program wrote its prompt. Keys sent
in that moment are echoed by the terminal itself and reach the console as a line feed, not a
return, whatever the program asked of the console (a loaded CI machine once typed into that
moment, and the secret showed). A program that turns the console's echo off is told apart from one
that does not only once the console is the one echoing.

By hand rather than with `script` and a FIFO (what this replaced): neither tells when the
terminal changed modes; Python's `pty` and `termios` do, and CI has Python already.
"""

import os
import pty
import select
import sys
import termios
import time

WAIT = 60.0


def read_until(fd, screen, done, what):
    """Reads the screen into `screen` until `done()` holds; fails after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            sys.stderr.write(f"no {what} within {WAIT:.0f} s; the screen: {bytes(screen)!r}\n")
            sys.exit(1)
        ready, _, _ = select.select([fd], [], [], min(left, 0.005))
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the program and every holder of the terminal are gone
                chunk = b""
            if not chunk:
                return False
            screen.extend(chunk)
    return True


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        sys.exit(2)
    prompt, keys, command = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    screen = bytearray()

    def echoing():
        # The terminal's settings, read through its other end (Linux answers for both).
        return termios.tcgetattr(fd)[3] & termios.ECHO

    if not read_until(fd, screen, lambda: prompt in screen, "prompt"):
        sys.stderr.write(f"the program ended before its prompt; the screen: {bytes(screen)!r}\n")
        sys.exit(1)
    if not read_until(fd, screen, lambda: not echoing(), "end of the terminal's echo"):
        sys.stderr.write(f"the program ended before it read; the screen: {bytes(screen)!r}\n")
        sys.exit(1)
    os.write(fd, keys)
    read_until(fd, screen, lambda: False, "end of the program")
    os.waitpid(pid, 0)
    sys.stdout.buffer.write(bytes(screen))


if __name__ == "__main__":
    main()
