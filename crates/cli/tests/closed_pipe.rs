//! `omron circuit inspect .. | head` must end quietly when the reader goes away, not panic in
//! `println!` with "failed printing to stdout: Broken pipe".

use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn a_one_shot_command_ends_quietly_when_its_reader_closes_the_pipe() {
    let circuits = concat!(env!("CARGO_MANIFEST_DIR"), "/../../circuits/age");
    let mut child = Command::new(env!("CARGO_BIN_EXE_omron"))
        .args(["circuit", "inspect", circuits])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("omron starts");
    // Read one byte, then close the read end while omron still has lines to print.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut first = [0u8; 1];
    stdout
        .read_exact(&mut first)
        .expect("omron prints something");
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr)
        .expect("stderr reads");
    let status = child.wait().expect("omron exits");
    assert!(!stderr.contains("panicked"), "omron panicked: {stderr}");
    assert!(
        !stderr.contains("Broken pipe"),
        "omron complained: {stderr}"
    );
    // Killed by SIGPIPE (as `head`'s writers are) or, if it had printed everything before the
    // pipe closed, a normal success.
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.signal() == Some(libc::SIGPIPE) || status.success(),
        "unexpected end: {status:?}"
    );
}
