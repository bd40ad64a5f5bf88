//! The `epicevents` binary: all it does is run the library and exit with its code.

fn main() -> std::process::ExitCode {
    epicevents::run()
}
