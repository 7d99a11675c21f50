//! panicky: a contract that panics on purpose, to show that a Rust panic
//! becomes a typed trap (the SDK's panic handler calls the ABI's abort) and
//! that nothing the call did is written.
//!
//!   boom(x i64) -> i64   writes state "k" = x, then indexes a 2-element array
//!                        at x: returns x for x < 2, panics for x >= 2
#![no_std]

ispc_sdk::export! {
    fn boom(x: i64) -> i64 {
        ispc_sdk::state::set_i64(b"k", x);
        let v: [i64; 2] = [x, x];
        v[x as usize] // index out of bounds for x >= 2: a panic
    }
}
