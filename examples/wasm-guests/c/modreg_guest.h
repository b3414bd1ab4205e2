/*
 * What every C guest of this folder shares: the plugins section's encoding, the answer record,
 * a bump allocator over the heap, and the host's imports. Written from `docs/wasm-abi.md`
 * (version 1); no C library.
 *
 * Memory: `modreg_alloc` starts each call's allocations afresh (the host copies the answer out
 * before it calls again), and the memory grows a page at a time as a call needs it; a growth
 * the host refuses traps, which the host reports as the memory limit.
 */

#ifndef MODREG_GUEST_H
#define MODREG_GUEST_H

#include <stddef.h>
#include <stdint.h>

/* The plugins section, written with assembler directives into `.custom_section.modreg.plugins`
 * (wasm-ld makes it the custom section `modreg.plugins`): one record per plugin, in the order
 * `modreg_process` numbers them. A string is its length (u32, little-endian) then its bytes;
 * a list is its count then its strings. Lengths are label differences: the assembler counts. */
#define MODREG_STRING(text) ".int32 2f-1f\n1: .ascii \"" text "\"\n2:\n"
#define MODREG_LIST0 ".int32 0\n"
#define MODREG_LIST1(a) ".int32 1\n" MODREG_STRING(a)
#define MODREG_LIST2(a, b) ".int32 2\n" MODREG_STRING(a) MODREG_STRING(b)
/* name, version, type, description, capabilities, permissions, dependencies. */
#define MODREG_RECORD(name, type, description, capabilities, permissions)                    \
    ".int8 1\n" MODREG_STRING(name) MODREG_STRING("0.1.0") MODREG_STRING(type)                \
        MODREG_STRING(description) capabilities permissions MODREG_LIST0
#define MODREG_PLUGINS(records)                                                             \
    __asm__(".section .custom_section.modreg.plugins,\"\",@\n" records)

#define MODREG_PAGE 65536u
#define MODREG_STATUS_OK 0u
#define MODREG_STATUS_ERROR 1u
#define MODREG_DENIED (-1)
#define MODREG_NOT_FOUND (-2)
#define MODREG_FAILED (-3)

/* The host's imports (module `modreg`). */
__attribute__((import_module("modreg"), import_name("read_file"))) int64_t
modreg_read_file(const char *path, uint32_t path_len, uint8_t *out, uint32_t out_cap);
__attribute__((import_module("modreg"), import_name("env_var"))) int64_t
modreg_env_var(const char *name, uint32_t name_len, uint8_t *out, uint32_t out_cap);
__attribute__((import_module("modreg"), import_name("panic_message"))) void
modreg_panic_message(const char *message, uint32_t len);

extern unsigned char __heap_base;

/* The next free byte of the heap. */
static uintptr_t modreg_heap_top;
/* The answer record: status, address, length. */
static uint32_t modreg_answer_record[3];

/* `len` bytes of heap, 8-aligned, growing the memory as needed (a refused growth traps). */
static void *modreg_take(uint32_t len) {
    uintptr_t at = (modreg_heap_top + 7u) & ~(uintptr_t)7u;
    if (at < modreg_heap_top || len > UINTPTR_MAX - at) {
        __builtin_trap();
    }
    uintptr_t end = at + len;
    uintptr_t have = __builtin_wasm_memory_size(0) * MODREG_PAGE;
    if (end > have) {
        uintptr_t pages = (end - have + MODREG_PAGE - 1u) / MODREG_PAGE;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) {
            __builtin_trap();
        }
    }
    modreg_heap_top = end;
    return (void *)at;
}

/* Starts a call's allocations afresh. */
static void modreg_reset_heap(void) {
    modreg_heap_top = (uintptr_t)&__heap_base;
}

__attribute__((export_name("modreg_alloc"))) uint32_t modreg_alloc(uint32_t len) {
    modreg_reset_heap();
    return (uint32_t)(uintptr_t)modreg_take(len);
}

static uint32_t modreg_answer(uint32_t status, const void *bytes, uint32_t len) {
    modreg_answer_record[0] = status;
    modreg_answer_record[1] = (uint32_t)(uintptr_t)bytes;
    modreg_answer_record[2] = len;
    return (uint32_t)(uintptr_t)modreg_answer_record;
}

static uint32_t modreg_length(const char *text) {
    uint32_t len = 0;
    while (text[len] != '\0') {
        len++;
    }
    return len;
}

/* The plugin's own error, with `text` as its message. */
static uint32_t modreg_refuse(const char *text) {
    return modreg_answer(MODREG_STATUS_ERROR, text, modreg_length(text));
}

/* Each guest defines its plugins' calls: plugin number `plugin` on `len` bytes at `input`,
 * answering the address of the answer record. */
static uint32_t modreg_run(uint32_t plugin, const uint8_t *input, uint32_t len);

__attribute__((export_name("modreg_process"))) uint32_t modreg_process(uint32_t plugin,
                                                                         uint32_t ptr,
                                                                         uint32_t len) {
    if (len == 0) {
        modreg_reset_heap();
    }
    return modreg_run(plugin, (const uint8_t *)(uintptr_t)ptr, len);
}

#endif
