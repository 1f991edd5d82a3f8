//! The `logveil` binary: everything lives in the library; see `logveil::cli`.

/// mimalloc instead of the system allocator: the service hands buffers
/// between threads (consumer → worker) and glibc's per-thread arenas make
/// such frees contend (`benches/PROFILE.md`, Kafka section).
/// The `system-alloc` feature (profiling builds only) keeps the system
/// allocator so heap profilers see every allocation.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    logveil::cli::main()
}
