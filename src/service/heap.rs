//! Hands memory the C allocator holds free back to the OS.
//!
//! librdkafka allocates with the C library's `malloc` on its own threads
//! (fetched message sets, produce requests and their lz4 buffers, one
//! allocation per queued message); the Rust side uses mimalloc. glibc keeps
//! freed chunks resident in per-thread arenas and returns only the top of
//! each arena: in `logveil run` at 1M records and 128 partitions, glibc held
//! 142 MB of which 68 MB were in use, and `malloc_trim(0)` took the process
//! from 224 to 121 MiB (benches/PROFILE.md, round three). The consumer thread
//! calls [`release_free_memory`] about once a second.

/// Returns free pages of every glibc arena to the OS (`malloc_trim(0)`);
/// a no-op with other C libraries.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes each arena's lock itself and only releases
    // pages of free chunks; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
