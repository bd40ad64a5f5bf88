//! The `epicevents` binary: all it does is run the library on its arguments and exit with
//! its code.

fn main() -> std::process::ExitCode {
    epicevents::run(std::env::args_os())
}
