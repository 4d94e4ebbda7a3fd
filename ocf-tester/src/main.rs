//! Placeholder until the tester lands (issue 5).
fn main() -> std::process::ExitCode {
    eprintln!("ocf-tester: not built yet");
    std::process::ExitCode::from(1)
}
