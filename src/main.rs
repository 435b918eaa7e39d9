//! The `exc` binary: everything lives in the library.

/// Loading a registry makes many small allocations on every core; mimalloc's
/// per-thread heaps take about 40% off `exc check` at 10,000 records, built
/// without transparent huge pages (see Cargo.toml; bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    exc::limit_memory();
    std::process::ExitCode::from(exc::main_exit_code())
}
