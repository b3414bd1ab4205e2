/*
 * The bundled hex codec as a WebAssembly plugin module written in C: `c-hex-encode` and
 * `c-hex-decode`, the same behaviour as `modreg-plugins`' `hex-encode` and `hex-decode`
 * (lowercase digits out; either case in, ASCII whitespace skipped, an odd count or a
 * character that is not a digit refused with a message).
 *
 * No C library: the module is what `docs/wasm-abi.md` (version 1) asks of a guest and nothing
 * more, written by hand. `scripts/build-c-guest.sh` builds it with clang's wasm32 target:
 *
 *   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,-z,stack-size=65536 hex.c
 *
 * Memory: a bump allocator over the heap after the stack. `modreg_alloc` starts each call's
 * allocations afresh (the host copies the answer out before it calls again), and the memory
 * grows a page at a time as a call needs it; a growth the host refuses traps, which the host
 * reports as the memory limit.
 */

#include <stddef.h>
#include <stdint.h>

/* The plugins section: one record per plugin, in the order `modreg_process` numbers them.
 * A string is its length (u32, little-endian) then its bytes; a list is its count then its
 * strings. The lengths are label differences, so the assembler counts them. */
#define STRING(text) ".int32 2f-1f\n1: .ascii \"" text "\"\n2:\n"
#define LIST0 ".int32 0\n"
#define LIST2(a, b) ".int32 2\n" STRING(a) STRING(b)
#define RECORD(name, type, description, capabilities)                                       \
    ".int8 1\n" STRING(name) STRING("0.1.0") STRING(type) STRING(description) capabilities  \
        LIST0 LIST0

__asm__(".section .custom_section.modreg.plugins,\"\",@\n"
        RECORD("c-hex-encode", "encoding", "Encodes bytes as hexadecimal text (C)",
               LIST2("encoding", "hex"))
        RECORD("c-hex-decode", "encoding", "Decodes hexadecimal text to bytes (C)",
               LIST2("decoding", "hex")));

#define PAGE 65536u
#define STATUS_OK 0u
#define STATUS_ERROR 1u

extern unsigned char __heap_base;

/* The next free byte of the heap. */
static uintptr_t heap_top;
/* The answer record: status, address, length. */
static uint32_t answer[3];
/* An error message built for the current call. */
static char message[64];

static void *take(uint32_t len) {
    uintptr_t at = (heap_top + 7u) & ~(uintptr_t)7u;
    if (at < heap_top || len > UINTPTR_MAX - at) {
        __builtin_trap();
    }
    uintptr_t end = at + len;
    uintptr_t have = __builtin_wasm_memory_size(0) * PAGE;
    if (end > have) {
        uintptr_t pages = (end - have + PAGE - 1u) / PAGE;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) {
            __builtin_trap();
        }
    }
    heap_top = end;
    return (void *)at;
}

__attribute__((export_name("modreg_alloc"))) uint32_t modreg_alloc(uint32_t len) {
    heap_top = (uintptr_t)&__heap_base;
    return (uint32_t)(uintptr_t)take(len);
}

static uint32_t *answered(uint32_t status, const void *bytes, uint32_t len) {
    answer[0] = status;
    answer[1] = (uint32_t)(uintptr_t)bytes;
    answer[2] = len;
    return answer;
}

static uint32_t length(const char *text) {
    uint32_t len = 0;
    while (text[len] != '\0') {
        len++;
    }
    return len;
}

static uint32_t *refused(const char *text) {
    return answered(STATUS_ERROR, text, length(text));
}

static const char DIGITS[] = "0123456789abcdef";

static uint32_t *encode(const uint8_t *input, uint32_t len) {
    if (len > UINT32_MAX / 2u) {
        return refused("the input is too large to encode");
    }
    uint8_t *out = take(len * 2u);
    for (uint32_t i = 0; i < len; i++) {
        out[2u * i] = (uint8_t)DIGITS[input[i] >> 4];
        out[2u * i + 1u] = (uint8_t)DIGITS[input[i] & 15u];
    }
    return answered(STATUS_OK, out, len * 2u);
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
static uint32_t *invalid(uint8_t c, uint32_t position) {
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
    return refused(message);
}

static uint32_t *decode(const uint8_t *input, uint32_t len) {
    uint8_t *out = take(len / 2u + 1u);
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
    if (digits % 2u == 1u) return refused("Odd number of digits");
    return answered(STATUS_OK, out, written);
}

__attribute__((export_name("modreg_process"))) uint32_t modreg_process(uint32_t plugin,
                                                                         uint32_t ptr,
                                                                         uint32_t len) {
    if (len == 0) {
        heap_top = (uintptr_t)&__heap_base;
    }
    const uint8_t *input = (const uint8_t *)(uintptr_t)ptr;
    switch (plugin) {
    case 0:
        return (uint32_t)(uintptr_t)encode(input, len);
    case 1:
        return (uint32_t)(uintptr_t)decode(input, len);
    default:
        return (uint32_t)(uintptr_t)refused("no such plugin in this module");
    }
}
