//! The global allocator of Bosun's binaries.
//!
//! mimalloc spends far less CPU than glibc's malloc on the request paths
//! (JSON trees are many small allocations): under the scheduling benchmark
//! glibc's malloc and free were about a quarter of the apiserver's CPU.
//! Left at its defaults it holds on to freed memory for a while, which
//! raised the apiserver's resident memory with 100,000 pods by ~60 %;
//! [`configure`] makes it return memory at once instead (BENCHMARKS.md has
//! both measurements).
//!
//! A binary installs it with
//! `#[global_allocator] static GLOBAL: bosun_alloc::MiMalloc = bosun_alloc::MiMalloc;`
//! and calls [`configure`] first thing in `main`.

pub use mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` (its `mi_option_t` order in
/// the bundled v3).
const OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
/// mimalloc's `mi_option_purge_delay` (its `mi_option_t` order).
const OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tunes mimalloc to commit arena memory only when used and to purge freed
/// memory immediately instead of after a delay. An option already given
/// in the environment (`MIMALLOC_ARENA_EAGER_COMMIT`,
/// `MIMALLOC_PURGE_DELAY`, which mimalloc reads itself) is left as given.
/// Call it at the start of `main`; it affects memory freed from then on.
pub fn configure() {
    set_unless_in_env(OPTION_ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT", 0);
    set_unless_in_env(OPTION_PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0);
}

/// Sets mimalloc option `option` to `value` unless the environment
/// variable `env` sets it.
fn set_unless_in_env(option: libmimalloc_sys::mi_option_t, env: &str, value: std::ffi::c_long) {
    if std::env::var_os(env).is_some() {
        return;
    }
    // SAFETY: `mi_option_set` only stores an option value; the option ids
    // used here are valid for the bundled mimalloc (v3), and the values
    // are in range.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(option, value);
    }
}
