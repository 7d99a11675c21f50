/* adversarial: programs that try to break the host. Every export must fail
 * with a typed error (or be contained) and leave the engine serving calls.
 *
 *   spin()                 infinite loop (fuel or wall-clock deadline stops it)
 *   bomb() -> i32          grows memory one page at a time until refused; returns pages held
 *   recurse(n i64) -> i64  non-tail recursion n deep (stack overflow for large n)
 *   oob_pointer() -> i64   log.write with a pointer past the end of memory
 *   huge_length() -> i64   state.get with a 2 GiB length
 *   bad_utf8() -> i64      log.write with invalid UTF-8
 *   div(a i32, b i32) -> i32  a / b (traps for b == 0)
 *   boom()                 unreachable
 *   host_spam(n i64) -> i64   n host calls (env.block_height)
 *   trace_spam(n i64) -> i64  n events of 1 KiB each
 *   abort_msg()            ispc.abort with a message
 */
#include "ispc.h"

ISPC_EXPORT(spin) void spin(void) {
    volatile int64_t x = 0;
    for (;;) x++;
}

ISPC_EXPORT(bomb) int32_t bomb(void) {
    for (;;) {
        if (__builtin_wasm_memory_grow(0, 1) == (size_t)-1) return (int32_t)__builtin_wasm_memory_size(0);
    }
}

__attribute__((noinline)) static int64_t deep(int64_t n) {
    volatile int64_t pad[4];
    pad[0] = n;
    if (n <= 0) return 0;
    return deep(n - 1) + pad[0];
}

ISPC_EXPORT(recurse) int64_t recurse(int64_t n) { return deep(n); }

ISPC_EXPORT(oob_pointer) int64_t oob_pointer(void) {
    uint32_t end = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
    return __ispc_log_write((const void *)(uintptr_t)(end - 4), 64);
}

ISPC_EXPORT(huge_length) int64_t huge_length(void) { return __ispc_state_get("k", 0x7fffffffu); }

ISPC_EXPORT(bad_utf8) int64_t bad_utf8(void) {
    static const uint8_t bad[] = {'o', 'k', 0xff, 0xfe, '!'};
    return __ispc_log_write(bad, sizeof bad);
}

ISPC_EXPORT(div) int32_t divide(int32_t a, int32_t b) { return a / b; }

ISPC_EXPORT(boom) void boom(void) { __builtin_trap(); }

ISPC_EXPORT(host_spam) int64_t host_spam(int64_t n) {
    int64_t acc = 0;
    for (int64_t i = 0; i < n; i++) acc += ispc_block_height();
    return acc;
}

ISPC_EXPORT(trace_spam) int64_t trace_spam(int64_t n) {
    static uint8_t blob[1024];
    for (int64_t i = 0; i < n; i++) ispc_emit("spam", ispc_view(blob, sizeof blob));
    return n;
}

ISPC_EXPORT(abort_msg) void abort_msg(void) { ispc_panic("the contract gave up on purpose"); }
