//! `ispc-sdk`: the Rust guest SDK for ispc WebAssembly contracts (guest ABI version 1).
//!
//! The crate is `no_std` and has no dependencies. It wraps the host ABI
//! described in `docs/wasm-abi.md` so that contract code never handles raw
//! pointers or the packed-buffer return convention:
//!
//! * typed, safe wrappers for every built-in host function ([`env`](mod@env), [`ledger`],
//!   [`tx`], [`state`], [`event`], [`result`], [`log`], [`external`]);
//! * the guest allocator the host calls to hand bytes back, exported as
//!   `ispc_alloc` (a bump allocator: a fresh instance is made for every call,
//!   so nothing is ever freed);
//! * a panic handler (on `wasm32`) that stops the call through the ABI's
//!   `ispc.abort`, so a panic becomes a typed `ProgramTrap` on the host;
//! * [`abort`], [`require`] and [`OrAbort`] to reject a call with a message;
//! * the [`export!`] macro to declare callable exports.
//!
//! Buffers returned by the host live in guest memory until the call ends and
//! are handed out as `&'static [u8]`.
//!
//! ```ignore
//! #![no_std]
//! use ispc_sdk::{export, state, OrAbort};
//!
//! export! {
//!     fn get() -> i64 { state::get_i64(b"count") }
//!     fn bump(by: i64) -> i64 {
//!         let v = state::get_i64(b"count").checked_add(by).or_abort("overflow");
//!         state::set_i64(b"count", v);
//!         v
//!     }
//! }
//! ```
//!
//! Build a contract as a `cdylib` for `wasm32-unknown-unknown` with
//! `-C panic=abort` (see the "Rust" section of `docs/wasm-abi.md`).
#![no_std]

/// The ABI version this SDK speaks.
pub const ABI_VERSION: i32 = 1;

// --------------------------------------------------------------------------
// Raw imports (ABI level). Use the safe wrappers in the modules below.
// --------------------------------------------------------------------------

/// The raw `ispc.*` imports, exactly as in `docs/wasm-abi.md`.
///
/// Every pointer is an offset into this module's linear memory; every import
/// returns one `i64`. Prefer the safe wrappers: they are zero-cost.
#[cfg(target_arch = "wasm32")]
pub mod sys {
    #[link(wasm_import_module = "ispc")]
    extern "C" {
        pub fn abi_version() -> i32;
        pub fn abort(msg: *const u8, len: usize) -> !;

        pub fn env_caller() -> i64;
        pub fn env_contract() -> i64;
        pub fn env_block_height() -> i64;
        pub fn env_block_time() -> i64;
        pub fn env_chain_id() -> i64;
        pub fn env_input() -> i64;
        pub fn ledger_balance(addr: *const u8, addr_len: usize) -> i64;
        pub fn tx_transfer(to: *const u8, to_len: usize, amount: i64) -> i64;
        pub fn state_get(key: *const u8, key_len: usize) -> i64;
        pub fn state_version(key: *const u8, key_len: usize) -> i64;
        pub fn state_set(key: *const u8, key_len: usize, value: *const u8, value_len: usize) -> i64;
        pub fn event_emit(topic: *const u8, topic_len: usize, data: *const u8, data_len: usize) -> i64;
        pub fn result_set(data: *const u8, data_len: usize) -> i64;
        pub fn log_write(msg: *const u8, msg_len: usize) -> i64;
        pub fn external_declare(
            kind: *const u8,
            kind_len: usize,
            key: *const u8,
            key_len: usize,
            claim: *const u8,
            claim_len: usize,
        ) -> i64;
        pub fn external_provide_evidence(handle: i64, evidence: *const u8, evidence_len: usize) -> i64;
        pub fn external_query(key: *const u8, key_len: usize) -> i64;
    }
}

/// Stand-ins for the imports on non-wasm targets, so the crate (and code that
/// uses it) type-checks and documents on the host. Calling one panics.
#[cfg(not(target_arch = "wasm32"))]
#[allow(unused_variables, clippy::missing_safety_doc)]
pub mod sys {
    fn no_host() -> ! {
        panic!("ispc host functions are only available inside the wasm engine")
    }
    pub unsafe fn abi_version() -> i32 { no_host() }
    pub unsafe fn abort(msg: *const u8, len: usize) -> ! { no_host() }
    pub unsafe fn env_caller() -> i64 { no_host() }
    pub unsafe fn env_contract() -> i64 { no_host() }
    pub unsafe fn env_block_height() -> i64 { no_host() }
    pub unsafe fn env_block_time() -> i64 { no_host() }
    pub unsafe fn env_chain_id() -> i64 { no_host() }
    pub unsafe fn env_input() -> i64 { no_host() }
    pub unsafe fn ledger_balance(addr: *const u8, addr_len: usize) -> i64 { no_host() }
    pub unsafe fn tx_transfer(to: *const u8, to_len: usize, amount: i64) -> i64 { no_host() }
    pub unsafe fn state_get(key: *const u8, key_len: usize) -> i64 { no_host() }
    pub unsafe fn state_version(key: *const u8, key_len: usize) -> i64 { no_host() }
    pub unsafe fn state_set(key: *const u8, key_len: usize, value: *const u8, value_len: usize) -> i64 { no_host() }
    pub unsafe fn event_emit(topic: *const u8, topic_len: usize, data: *const u8, data_len: usize) -> i64 { no_host() }
    pub unsafe fn result_set(data: *const u8, data_len: usize) -> i64 { no_host() }
    pub unsafe fn log_write(msg: *const u8, msg_len: usize) -> i64 { no_host() }
    pub unsafe fn external_declare(
        kind: *const u8,
        kind_len: usize,
        key: *const u8,
        key_len: usize,
        claim: *const u8,
        claim_len: usize,
    ) -> i64 {
        no_host()
    }
    pub unsafe fn external_provide_evidence(handle: i64, evidence: *const u8, evidence_len: usize) -> i64 { no_host() }
    pub unsafe fn external_query(key: *const u8, key_len: usize) -> i64 { no_host() }
}

/// A buffer the host returned: `(ptr << 32) | len`, `0` for empty.
#[inline]
fn unpack(packed: i64) -> &'static [u8] {
    let v = packed as u64;
    let len = (v & 0xffff_ffff) as usize;
    if len == 0 {
        return &[];
    }
    let ptr = (v >> 32) as usize as *const u8;
    // SAFETY: the host allocated `len` bytes at `ptr` with `ispc_alloc` (the
    // bump allocator below never frees or reuses memory) and checked that the
    // buffer lies inside guest memory; nothing else writes to it.
    unsafe { core::slice::from_raw_parts(ptr, len) }
}

// --------------------------------------------------------------------------
// Allocator
// --------------------------------------------------------------------------

#[cfg(target_arch = "wasm32")]
mod heap {
    extern "C" {
        /// End of the static data and the stack, provided by the linker.
        static __heap_base: u8;
    }

    static mut TOP: usize = 0;

    /// Bump-allocate `len` bytes (8-aligned), growing memory as needed; `None` if memory is exhausted.
    pub fn alloc(len: usize) -> Option<*mut u8> {
        // SAFETY: wasm32 contracts are single-threaded; `TOP` is only touched here.
        unsafe {
            if TOP == 0 {
                TOP = &__heap_base as *const u8 as usize;
            }
            let p = TOP.checked_add(7)? & !7usize;
            let end = p.checked_add(len)?;
            let have = core::arch::wasm32::memory_size(0) * 65536;
            if end > have {
                let pages = (end - have + 65535) / 65536;
                if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
                    return None;
                }
            }
            TOP = end;
            Some(p as *mut u8)
        }
    }

    /// The guest allocator the host calls to return bytes (ABI: `ispc_alloc(len: i32) -> i32`, `0` on failure).
    #[no_mangle]
    pub extern "C" fn ispc_alloc(len: usize) -> *mut u8 {
        alloc(len).unwrap_or(core::ptr::null_mut())
    }
}

/// Allocate `len` zeroed bytes in guest memory that live until the call ends.
///
/// Aborts the call if memory is exhausted (growth beyond `limits.memory_pages`).
#[cfg(target_arch = "wasm32")]
pub fn alloc_bytes(len: usize) -> &'static mut [u8] {
    match heap::alloc(len) {
        // SAFETY: a fresh, never reused region of `len` bytes; zeroed before use.
        Some(p) => unsafe {
            core::ptr::write_bytes(p, 0, len);
            core::slice::from_raw_parts_mut(p, len)
        },
        None => abort("ispc_sdk: out of memory"),
    }
}

// --------------------------------------------------------------------------
// Aborting
// --------------------------------------------------------------------------

/// Stop the call with a message. The host raises `ProgramTrap("<function>:
/// guest aborted: <msg>")` and nothing the call did is kept. Never returns.
#[inline]
pub fn abort(msg: &str) -> ! {
    // SAFETY: (ptr, len) of a valid &str.
    unsafe { sys::abort(msg.as_ptr(), msg.len()) }
}

/// Abort the call with `msg` unless `cond` holds.
#[inline]
pub fn require(cond: bool, msg: &str) {
    if !cond {
        abort(msg)
    }
}

/// `or_abort` on `Option` and `Result`: the value, or abort the call with a message.
pub trait OrAbort<T> {
    fn or_abort(self, msg: &str) -> T;
}

impl<T> OrAbort<T> for Option<T> {
    #[inline]
    fn or_abort(self, msg: &str) -> T {
        match self {
            Some(v) => v,
            None => abort(msg),
        }
    }
}

impl<T, E> OrAbort<T> for Result<T, E> {
    #[inline]
    fn or_abort(self, msg: &str) -> T {
        match self {
            Ok(v) => v,
            Err(_) => abort(msg),
        }
    }
}

/// A panic aborts the call through `ispc.abort` with "panicked at <file>:<line>:<col>".
///
/// The message itself is not formatted (that would link `core::fmt`, several
/// KiB); use [`abort`] / [`OrAbort`] for messages the caller should see. Build
/// with `--cfg 'feature="panic-message"'` (cargo: feature `panic-message`) to
/// include the formatted panic message. Disable the handler with the cargo
/// feature `no-panic-handler` to provide your own.
#[cfg(all(target_arch = "wasm32", not(feature = "no-panic-handler")))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut buf = Buf { bytes: [0; 512], len: 0 };
    #[cfg(feature = "panic-message")]
    {
        let _ = core::fmt::write(&mut buf, format_args!("{}", info));
    }
    #[cfg(not(feature = "panic-message"))]
    {
        buf.push(b"panicked");
        if let Some(loc) = info.location() {
            buf.push(b" at ");
            buf.push(loc.file().as_bytes());
            buf.push(b":");
            buf.push_u32(loc.line());
            buf.push(b":");
            buf.push_u32(loc.column());
        }
    }
    // SAFETY: (ptr, len) of the buffer; the host replaces invalid UTF-8 (a cut character).
    unsafe { sys::abort(buf.bytes.as_ptr(), buf.len) }
}

#[cfg(all(target_arch = "wasm32", not(feature = "no-panic-handler")))]
struct Buf {
    bytes: [u8; 512],
    len: usize,
}

#[cfg(all(target_arch = "wasm32", not(feature = "no-panic-handler")))]
impl Buf {
    // Written without indexing or slicing: no bounds-check panic paths (and
    // no `core::fmt` they would pull in) end up in the contract.
    fn push(&mut self, s: &[u8]) {
        for &c in s {
            if let Some(slot) = self.bytes.get_mut(self.len) {
                *slot = c;
                self.len += 1;
            }
        }
    }
    #[cfg(not(feature = "panic-message"))]
    fn push_u32(&mut self, v: u32) {
        let mut div = 1u32;
        while v / div >= 10 {
            div *= 10;
        }
        loop {
            self.push(&[b'0' + (v / div % 10) as u8]);
            if div == 1 {
                break;
            }
            div /= 10;
        }
    }
}

#[cfg(all(target_arch = "wasm32", not(feature = "no-panic-handler"), feature = "panic-message"))]
impl core::fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

// --------------------------------------------------------------------------
// Little-endian helpers
// --------------------------------------------------------------------------

/// Little-endian i64 from the first 8 bytes of `b` (missing bytes read as 0, extra bytes are ignored).
#[inline]
pub fn read_i64(b: &[u8]) -> i64 {
    let mut v = 0u64;
    for (i, &byte) in b.iter().take(8).enumerate() {
        v |= (byte as u64) << (8 * i);
    }
    v as i64
}

// --------------------------------------------------------------------------
// Host functions
// --------------------------------------------------------------------------

/// The ABI version the host speaks (`1`).
#[inline]
pub fn abi_version() -> i32 {
    // SAFETY: no arguments.
    unsafe { sys::abi_version() }
}

/// `env.*`: the deterministic environment of the call.
pub mod env {
    use super::{sys, unpack};

    /// `env.caller`: the 20-byte address of the caller.
    #[inline]
    pub fn caller() -> &'static [u8] {
        unpack(unsafe { sys::env_caller() })
    }
    /// `env.contract`: the 20-byte address of this contract.
    #[inline]
    pub fn contract() -> &'static [u8] {
        unpack(unsafe { sys::env_contract() })
    }
    /// `env.block_height`: height of the ledger snapshot.
    #[inline]
    pub fn block_height() -> i64 {
        unsafe { sys::env_block_height() }
    }
    /// `env.block_time`: time of the ledger snapshot (never the wall clock).
    #[inline]
    pub fn block_time() -> i64 {
        unsafe { sys::env_block_time() }
    }
    /// `env.chain_id`.
    #[inline]
    pub fn chain_id() -> &'static [u8] {
        unpack(unsafe { sys::env_chain_id() })
    }
    /// `env.input`: the call's input data.
    #[inline]
    pub fn input() -> &'static [u8] {
        unpack(unsafe { sys::env_input() })
    }
}

/// `ledger.*`: read the ledger snapshot.
pub mod ledger {
    use super::sys;

    /// `ledger.balance`: spendable balance of a 20-byte address.
    #[inline]
    pub fn balance(address: &[u8]) -> i64 {
        unsafe { sys::ledger_balance(address.as_ptr(), address.len()) }
    }
}

/// `tx.*`: value transfers.
pub mod tx {
    use super::sys;

    /// `tx.transfer`: pay `amount` from the caller to the 20-byte address `to`.
    ///
    /// Insufficient funds (or a bad address) fail the whole call with a typed
    /// error on the host; this function only returns on success.
    #[inline]
    pub fn transfer(to: &[u8], amount: i64) {
        unsafe { sys::tx_transfer(to.as_ptr(), to.len(), amount) };
    }
}

/// `state.*`: this contract's versioned key/value state.
pub mod state {
    use super::{read_i64, sys, unpack};

    /// `state.get`: the value under `key` (empty if unset).
    #[inline]
    pub fn get(key: &[u8]) -> &'static [u8] {
        unpack(unsafe { sys::state_get(key.as_ptr(), key.len()) })
    }
    /// `state.set`: write `value` under `key` (kept only if the call succeeds).
    #[inline]
    pub fn set(key: &[u8], value: &[u8]) {
        unsafe { sys::state_set(key.as_ptr(), key.len(), value.as_ptr(), value.len()) };
    }
    /// `state.version`: how many times `key` was written (0 if never).
    #[inline]
    pub fn version(key: &[u8]) -> i64 {
        unsafe { sys::state_version(key.as_ptr(), key.len()) }
    }
    /// The i64 (little-endian) under `key`; 0 if unset.
    #[inline]
    pub fn get_i64(key: &[u8]) -> i64 {
        read_i64(get(key))
    }
    /// Write `value` as 8 little-endian bytes under `key`.
    #[inline]
    pub fn set_i64(key: &[u8], value: i64) {
        set(key, &value.to_le_bytes())
    }
}

/// `event.*`: events recorded with the transaction.
pub mod event {
    use super::sys;

    /// `event.emit`: an event with a UTF-8 topic and opaque data.
    #[inline]
    pub fn emit(topic: &str, data: &[u8]) {
        unsafe { sys::event_emit(topic.as_ptr(), topic.len(), data.as_ptr(), data.len()) };
    }
}

/// `result.*`: the call's return data.
pub mod result {
    use super::sys;

    /// `result.set`: the call's return data (bytes beside the returned value).
    #[inline]
    pub fn set(data: &[u8]) {
        unsafe { sys::result_set(data.as_ptr(), data.len()) };
    }
}

/// `log.*`: log lines recorded in the trace.
pub mod log {
    use super::sys;

    /// `log.write`: a UTF-8 log line.
    #[inline]
    pub fn write(message: &str) {
        unsafe { sys::log_write(message.as_ptr(), message.len()) };
    }
}

/// `external.*`: reliance on external (oracle) state.
pub mod external {
    use super::{sys, unpack};

    /// A declared external state, returned by [`declare`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Handle(pub i64);

    /// `external.declare`: declare that the call relies on `claim` being the external state `kind`/`key`.
    #[inline]
    pub fn declare(kind: &str, key: &[u8], claim: &[u8]) -> Handle {
        Handle(unsafe {
            sys::external_declare(kind.as_ptr(), kind.len(), key.as_ptr(), key.len(), claim.as_ptr(), claim.len())
        })
    }
    /// `external.provide_evidence`: `true` if the evidence was accepted, `false` if rejected.
    #[inline]
    pub fn provide_evidence(handle: Handle, evidence: &[u8]) -> bool {
        unsafe { sys::external_provide_evidence(handle.0, evidence.as_ptr(), evidence.len()) == 1 }
    }
    /// `external.query`: the verified claim for `key`.
    #[inline]
    pub fn query(key: &[u8]) -> &'static [u8] {
        unpack(unsafe { sys::external_query(key.as_ptr(), key.len()) })
    }
}

// --------------------------------------------------------------------------
// Exports
// --------------------------------------------------------------------------

/// Declare callable exports: each `fn` becomes `#[no_mangle] pub extern "C"`,
/// exported under its own name. Parameters and results must be `i32`/`i64`
/// (`u32`/`u64` work too: the host passes the same bits).
///
/// ```ignore
/// ispc_sdk::export! {
///     /// Doc comments and attributes are kept.
///     fn get() -> i64 { ispc_sdk::state::get_i64(b"count") }
///     fn reset() { ispc_sdk::state::set_i64(b"count", 0) }
/// }
/// ```
///
/// Without the macro, write the same by hand:
/// `#[no_mangle] pub extern "C" fn get() -> i64 { ... }`.
#[macro_export]
macro_rules! export {
    ($($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block)*) => {
        $(
            $(#[$meta])*
            #[no_mangle]
            pub extern "C" fn $name($($arg: $ty),*) $(-> $ret)? $body
        )*
    };
}
