//! The `exc` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(exc::main_exit_code())
}
