//! counter (Rust): persistent state with versions; the same exports and
//! behaviour as `contracts/src/counter.c`, built with the Rust SDK (`sdk/rust`).
//!
//!   increment(by i64) -> i64  adds `by` to the counter under key "count" (i64 LE),
//!                             emits "counter.incremented" with the new value,
//!                             sets it as the result and returns it; an i64
//!                             overflow aborts the call (nothing is written)
//!   get() -> i64              the current value (0 if never set)
//!   version() -> i64          the state version of "count"
#![no_std]

use ispc_sdk::{event, export, result, state, OrAbort};

const KEY: &[u8] = b"count";

export! {
    fn get() -> i64 {
        state::get_i64(KEY)
    }

    fn version() -> i64 {
        state::version(KEY)
    }

    fn increment(by: i64) -> i64 {
        let value = state::get_i64(KEY).checked_add(by).or_abort("counter.increment: i64 overflow");
        let bytes = value.to_le_bytes();
        state::set(KEY, &bytes);
        event::emit("counter.incremented", &bytes);
        result::set(&bytes);
        value
    }
}
