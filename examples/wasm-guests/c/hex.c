/*
 * The bundled hex codec as a WebAssembly plugin module written in C: `c-hex-encode` and
 * `c-hex-decode`, the same behaviour as `modreg-plugins`' `hex-encode` and `hex-decode`
 * (lowercase digits out; either case in, ASCII whitespace skipped, an odd count or a
 * character that is not a digit refused with a message). What every C guest shares (the
 * section, the allocator, the exports) is in `modreg_guest.h`.
 *
 * `scripts/build-c-guest.sh` builds it with clang's wasm32 target:
 *
 *   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,-z,stack-size=32768 hex.c
 */

#include "modreg_guest.h"

MODREG_PLUGINS(MODREG_RECORD("c-hex-encode", "encoding", "Encodes bytes as hexadecimal text (C)",
                             MODREG_LIST2("encoding", "hex"), MODREG_LIST0)
                   MODREG_RECORD("c-hex-decode", "encoding",
                                 "Decodes hexadecimal text to bytes (C)",
                                 MODREG_LIST2("decoding", "hex"), MODREG_LIST0));

/* An error message built for the current call. */
static char message[64];

static const char DIGITS[] = "0123456789abcdef";

static uint32_t encode(const uint8_t *input, uint32_t len) {
    if (len > UINT32_MAX / 2u) {
        return modreg_refuse("the input is too large to encode");
    }
    uint8_t *out = modreg_take(len * 2u);
    for (uint32_t i = 0; i < len; i++) {
        out[2u * i] = (uint8_t)DIGITS[input[i] >> 4];
        out[2u * i + 1u] = (uint8_t)DIGITS[input[i] & 15u];
    }
    return modreg_answer(MODREG_STATUS_OK, out, len * 2u);
}

/* The value of hex digit `c`, or -1. */
static int digit(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Rust's `u8::is_ascii_whitespace`: space, tab, line feed, form feed, carriage return. */
static int whitespace(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* "Invalid character 'c' at position N" for a printable character, its code otherwise. */
static uint32_t invalid(uint8_t c, uint32_t position) {
    char *at = message;
    const char *lead = "Invalid character ";
    while (*lead) *at++ = *lead++;
    if (c >= 0x20 && c < 0x7f) {
        *at++ = '\'';
        *at++ = (char)c;
        *at++ = '\'';
    } else {
        *at++ = '\\';
        *at++ = 'x';
        *at++ = DIGITS[c >> 4];
        *at++ = DIGITS[c & 15u];
    }
    const char *middle = " at position ";
    while (*middle) *at++ = *middle++;
    char reversed[10];
    int n = 0;
    do {
        reversed[n++] = (char)('0' + position % 10u);
        position /= 10u;
    } while (position != 0);
    while (n > 0) *at++ = reversed[--n];
    *at = '\0';
    return modreg_refuse(message);
}

static uint32_t decode(const uint8_t *input, uint32_t len) {
    uint8_t *out = modreg_take(len / 2u + 1u);
    uint32_t written = 0, digits = 0;
    int high = 0;
    for (uint32_t i = 0; i < len; i++) {
        uint8_t c = input[i];
        if (whitespace(c)) continue;
        int value = digit(c);
        if (value < 0) return invalid(c, digits);
        if (digits % 2u == 0) {
            high = value;
        } else {
            out[written++] = (uint8_t)(high << 4 | value);
        }
        digits++;
    }
    if (digits % 2u == 1u) return modreg_refuse("Odd number of digits");
    return modreg_answer(MODREG_STATUS_OK, out, written);
}

static uint32_t modreg_run(uint32_t plugin, const uint8_t *input, uint32_t len) {
    switch (plugin) {
    case 0:
        return encode(input, len);
    case 1:
        return decode(input, len);
    default:
        return modreg_refuse("no such plugin in this module");
    }
}
