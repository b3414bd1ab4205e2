/*
 * The hostile guests of `examples/wasm-guests/hostile` (Rust) written in C, under the same
 * names with `c-` in front: the sandbox must stop each with the same typed error whatever the
 * language. `scripts/build-c-guest.sh` builds it into `c-hostile.wasm`.
 */

#include "modreg_guest.h"

#define HOSTILE(name, description, permissions)                                             \
    MODREG_RECORD(name, "data-processor", description, MODREG_LIST1("hostile"), permissions)

MODREG_PLUGINS(HOSTILE("c-spin", "Loops forever", MODREG_LIST0)
                   HOSTILE("c-memory-bomb", "Allocates without end", MODREG_LIST0)
                       HOSTILE("c-read-passwd", "Reads /etc/passwd", MODREG_LIST1("file.read"))
                           HOSTILE("c-read-env", "Reads the environment variable its input names",
                                   MODREG_LIST1("env.modreg_guest_greeting"))
                               HOSTILE("c-recurse", "Recurses without end", MODREG_LIST0)
                                   HOSTILE("c-panic", "Panics", MODREG_LIST0)
                                       HOSTILE("c-flood", "Answers megabytes", MODREG_LIST0));

/* Written on every step, so no loop or recursion here can be optimized away. */
static volatile uint64_t sink;

static uint32_t spin(void) {
    for (;;) {
        sink = sink + 1u;
    }
}

static uint32_t memory_bomb(void) {
    for (;;) {
        uint8_t *block = modreg_take(1u << 20);
        block[0] = 7;
        block[(1u << 20) - 1u] = 7;
        sink = block[0];
    }
}

/* What a capability call answered, as the plugin's own error when it was refused. */
static uint32_t fetched(int64_t answer, uint8_t *buffer) {
    if (answer == MODREG_DENIED) return modreg_refuse("denied by the host: no grant");
    if (answer == MODREG_NOT_FOUND) return modreg_refuse("not found");
    if (answer < 0 || answer > 4096) return modreg_refuse("the host could not read it");
    return modreg_answer(MODREG_STATUS_OK, buffer, (uint32_t)answer);
}

static uint32_t read_passwd(const uint8_t *input, uint32_t len) {
    static const char PASSWD[] = "/etc/passwd";
    const char *path = len == 0 ? PASSWD : (const char *)input;
    uint32_t path_len = len == 0 ? sizeof PASSWD - 1u : len;
    uint8_t *buffer = modreg_take(4096);
    return fetched(modreg_read_file(path, path_len, buffer, 4096), buffer);
}

static uint32_t read_env(const uint8_t *input, uint32_t len) {
    uint8_t *buffer = modreg_take(4096);
    return fetched(modreg_env_var((const char *)input, len, buffer, 4096), buffer);
}

/* Not a tail call (the result is stored after it returns): every frame stays. Recursing
 * without end is the point. */
#pragma clang diagnostic ignored "-Winfinite-recursion"
static uint64_t deeper(uint64_t depth) {
    uint64_t below = deeper(depth + 1u);
    sink = below;
    return below + depth;
}

static uint32_t panic(void) {
    static const char MESSAGE[] = "the hostile C guest panics on purpose";
    modreg_panic_message(MESSAGE, sizeof MESSAGE - 1u);
    __builtin_trap();
}

static uint32_t flood(const uint8_t *input, uint32_t len) {
    uint32_t mib = len == 0 ? 8u : input[0];
    uint32_t size = mib << 20;
    uint8_t *out = modreg_take(size);
    __builtin_memset(out, 'x', size);
    return modreg_answer(MODREG_STATUS_OK, out, size);
}

static uint32_t modreg_run(uint32_t plugin, const uint8_t *input, uint32_t len) {
    switch (plugin) {
    case 0:
        return spin();
    case 1:
        return memory_bomb();
    case 2:
        return read_passwd(input, len);
    case 3:
        return read_env(input, len);
    case 4:
        sink = deeper(0);
        return modreg_answer(MODREG_STATUS_OK, 0, 0);
    case 5:
        return panic();
    case 6:
        return flood(input, len);
    default:
        return modreg_refuse("no such plugin in this module");
    }
}
