/*
 * ispc.h - C SDK for ispc WebAssembly contracts (guest ABI version 1).
 *
 * Include this header in exactly one C file per contract and build with
 *
 *   clang --target=wasm32 -nostdlib -O2 -Wl,--no-entry -Wl,-z,stack-size=65536 \
 *         -I sdk/c contract.c -o contract.wasm
 *
 * The header provides
 *   - the guest allocator `ispc_alloc` the host uses to hand buffers back,
 *   - typed wrappers for every built-in host function, so contract code never
 *     handles raw pointers or the packed return convention,
 *   - small helpers (byte views, little-endian integers, memcpy/memset).
 *
 * ABI summary (docs/wasm-abi.md has the full table):
 *   - every host function is an import `ispc.<name with dots as underscores>`;
 *   - i64 parameters are i64; bytes/str parameters are (i32 ptr, i32 len);
 *   - every import returns one i64: the value (i64 results), 0 (no result), or
 *     a packed buffer (ptr << 32 | len) allocated with ispc_alloc (bytes/str);
 *   - a refused host call never returns: the execution fails with a typed error.
 *
 * Define ISPC_NO_LIBC_SHIMS if you link your own memcpy/memset/memcmp.
 */
#ifndef ISPC_H
#define ISPC_H

#include <stddef.h>
#include <stdint.h>

#define ISPC_ABI_VERSION 1

#define ISPC_EXPORT(name) __attribute__((export_name(#name)))
#define ISPC_IMPORT(name) __attribute__((import_module("ispc"), import_name(#name)))

/* A view of bytes in guest memory. */
typedef struct {
    const uint8_t *ptr;
    uint32_t len;
} ispc_bytes;

/* A view of a string literal (without its terminating NUL). */
#define ISPC_LIT(s) ((ispc_bytes){(const uint8_t *)(s), (uint32_t)(sizeof(s) - 1)})

/* ------------------------------------------------------------------------ */
/* Raw imports (ABI level). Prefer the wrappers below.                       */
/* ------------------------------------------------------------------------ */
ISPC_IMPORT(abi_version) int32_t __ispc_abi_version(void);
ISPC_IMPORT(abort) void __ispc_abort(const void *msg, uint32_t len);

ISPC_IMPORT(env_caller) int64_t __ispc_env_caller(void);
ISPC_IMPORT(env_contract) int64_t __ispc_env_contract(void);
ISPC_IMPORT(env_block_height) int64_t __ispc_env_block_height(void);
ISPC_IMPORT(env_block_time) int64_t __ispc_env_block_time(void);
ISPC_IMPORT(env_chain_id) int64_t __ispc_env_chain_id(void);
ISPC_IMPORT(env_input) int64_t __ispc_env_input(void);
ISPC_IMPORT(ledger_balance) int64_t __ispc_ledger_balance(const void *addr, uint32_t len);
ISPC_IMPORT(tx_transfer) int64_t __ispc_tx_transfer(const void *to, uint32_t to_len, int64_t amount);
ISPC_IMPORT(state_get) int64_t __ispc_state_get(const void *key, uint32_t len);
ISPC_IMPORT(state_version) int64_t __ispc_state_version(const void *key, uint32_t len);
ISPC_IMPORT(state_set) int64_t __ispc_state_set(const void *key, uint32_t key_len, const void *val, uint32_t val_len);
ISPC_IMPORT(event_emit) int64_t __ispc_event_emit(const void *topic, uint32_t topic_len, const void *data, uint32_t data_len);
ISPC_IMPORT(result_set) int64_t __ispc_result_set(const void *data, uint32_t len);
ISPC_IMPORT(log_write) int64_t __ispc_log_write(const void *msg, uint32_t len);
ISPC_IMPORT(external_declare) int64_t __ispc_external_declare(const void *kind, uint32_t kind_len, const void *key,
                                                             uint32_t key_len, const void *claim, uint32_t claim_len);
ISPC_IMPORT(external_provide_evidence) int64_t __ispc_external_provide_evidence(int64_t handle, const void *ev, uint32_t len);
ISPC_IMPORT(external_query) int64_t __ispc_external_query(const void *key, uint32_t len);

/* ------------------------------------------------------------------------ */
/* libc shims (clang lowers struct copies and loops to these).               */
/* ------------------------------------------------------------------------ */
#ifndef ISPC_NO_LIBC_SHIMS
void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    while (n--) *d++ = *s++;
    return dst;
}
void *memset(void *dst, int c, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    while (n--) *d++ = (uint8_t)c;
    return dst;
}
int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}
#endif

/* ------------------------------------------------------------------------ */
/* Allocator: a bump allocator over the heap, growing memory as needed.      */
/* Executions are short-lived (a fresh instance per call), so nothing frees. */
/* ------------------------------------------------------------------------ */
extern unsigned char __heap_base;
static uintptr_t ispc__heap_top = 0;

/* The guest allocator the host calls to return bytes (exported; ABI). Returns 0 when memory is exhausted. */
ISPC_EXPORT(ispc_alloc) void *ispc_alloc(uint32_t len) {
    if (ispc__heap_top == 0) ispc__heap_top = (uintptr_t)&__heap_base;
    uintptr_t p = (ispc__heap_top + 7u) & ~(uintptr_t)7u;
    uintptr_t end = p + (uintptr_t)len;
    if (end < p) return 0;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        uintptr_t pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
    }
    ispc__heap_top = end;
    return (void *)p;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */
static inline ispc_bytes ispc__unpack(int64_t packed) {
    ispc_bytes b;
    b.ptr = (const uint8_t *)(uintptr_t)((uint64_t)packed >> 32);
    b.len = (uint32_t)((uint64_t)packed & 0xffffffffu);
    return b;
}

static inline uint32_t ispc_strlen(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    return n;
}

/* A view of a NUL-terminated string. */
static inline ispc_bytes ispc_cstr(const char *s) {
    ispc_bytes b = {(const uint8_t *)s, ispc_strlen(s)};
    return b;
}

/* A view of `len` bytes at `ptr`. */
static inline ispc_bytes ispc_view(const void *ptr, uint32_t len) {
    ispc_bytes b = {(const uint8_t *)ptr, len};
    return b;
}

/* Bytes [off, off+len) of b, clipped to b. */
static inline ispc_bytes ispc_slice(ispc_bytes b, uint32_t off, uint32_t len) {
    if (off > b.len) off = b.len;
    if (len > b.len - off) len = b.len - off;
    ispc_bytes r = {b.ptr + off, len};
    return r;
}

/* Little-endian i64 from the first 8 bytes of b (missing bytes read as 0). */
static inline int64_t ispc_read_i64(ispc_bytes b) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < 8 && i < b.len; i++) v |= (uint64_t)b.ptr[i] << (8 * i);
    return (int64_t)v;
}

/* Write v little-endian into out[0..8). */
static inline void ispc_write_i64(uint8_t out[8], int64_t v) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

/* Stop the execution with a message; the call fails with ProgramTrap. Never returns. */
__attribute__((noreturn)) static inline void ispc_panic(const char *msg) {
    __ispc_abort(msg, ispc_strlen(msg));
    __builtin_unreachable();
}

/* ------------------------------------------------------------------------ */
/* Typed wrappers of the built-in host functions                             */
/* ------------------------------------------------------------------------ */
/* ABI version the host speaks (1). */
static inline int32_t ispc_abi_version(void) { return __ispc_abi_version(); }
/* env.caller: the 20-byte address of the caller. */
static inline ispc_bytes ispc_caller(void) { return ispc__unpack(__ispc_env_caller()); }
/* env.contract: the 20-byte address of this contract. */
static inline ispc_bytes ispc_contract(void) { return ispc__unpack(__ispc_env_contract()); }
/* env.block_height: height of the ledger snapshot. */
static inline int64_t ispc_block_height(void) { return __ispc_env_block_height(); }
/* env.block_time: time of the ledger snapshot (never the wall clock). */
static inline int64_t ispc_block_time(void) { return __ispc_env_block_time(); }
/* env.chain_id */
static inline ispc_bytes ispc_chain_id(void) { return ispc__unpack(__ispc_env_chain_id()); }
/* env.input: the call's input data. */
static inline ispc_bytes ispc_input(void) { return ispc__unpack(__ispc_env_input()); }
/* ledger.balance: spendable balance of a 20-byte address. */
static inline int64_t ispc_balance(ispc_bytes addr) { return __ispc_ledger_balance(addr.ptr, addr.len); }
/* tx.transfer: pay `amount` from the caller to `to`; 0 on success (insufficient funds fails the call). */
static inline int64_t ispc_transfer(ispc_bytes to, int64_t amount) { return __ispc_tx_transfer(to.ptr, to.len, amount); }
/* state.get: the value under key (empty if unset). */
static inline ispc_bytes ispc_state_get(ispc_bytes key) { return ispc__unpack(__ispc_state_get(key.ptr, key.len)); }
/* state.version: the version of key (0 if never written). */
static inline int64_t ispc_state_version(ispc_bytes key) { return __ispc_state_version(key.ptr, key.len); }
/* state.set */
static inline void ispc_state_set(ispc_bytes key, ispc_bytes value) { __ispc_state_set(key.ptr, key.len, value.ptr, value.len); }
/* event.emit: an event with a UTF-8 topic and opaque data. */
static inline void ispc_emit(const char *topic, ispc_bytes data) {
    __ispc_event_emit(topic, ispc_strlen(topic), data.ptr, data.len);
}
/* result.set: the call's return data. */
static inline void ispc_result(ispc_bytes data) { __ispc_result_set(data.ptr, data.len); }
/* log.write: a UTF-8 log line (recorded in the trace). */
static inline void ispc_log(const char *msg) { __ispc_log_write(msg, ispc_strlen(msg)); }
/* external.declare: declare reliance on an external state; returns a handle. */
static inline int64_t ispc_external_declare(const char *kind, ispc_bytes key, ispc_bytes claim) {
    return __ispc_external_declare(kind, ispc_strlen(kind), key.ptr, key.len, claim.ptr, claim.len);
}
/* external.provide_evidence: 1 if the evidence was accepted, 0 if rejected. */
static inline int64_t ispc_provide_evidence(int64_t handle, ispc_bytes evidence) {
    return __ispc_external_provide_evidence(handle, evidence.ptr, evidence.len);
}
/* external.query: the verified claim for key. */
static inline ispc_bytes ispc_external_query(ispc_bytes key) { return ispc__unpack(__ispc_external_query(key.ptr, key.len)); }

#endif /* ISPC_H */
