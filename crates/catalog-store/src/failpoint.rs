//! Test-only: pauses a process at an instant inside publishing that a timer
//! cannot hit (between the rename and the commit), so that an end-to-end
//! test can `kill -9` it exactly there (`crates/corvus-cli/tests/concurrency.rs`).
//!
//! With `CORVUS_TEST_FAILPOINT=<name>` in the environment, the process
//! reaching the point of that name writes `CORVUS_TEST_FAILPOINT <name>` on
//! stderr and sleeps until it is killed. Never set it outside tests: the
//! process would hang there holding the publish lock.
//!
//! **Never knows:** what the points mean; `lib.rs` names them.

/// The environment variable that names the point to stop at.
const VARIABLE: &str = "CORVUS_TEST_FAILPOINT";

/// Stops here for good if the environment names this point.
pub(crate) fn pause_if_named(point: &str) {
    if std::env::var_os(VARIABLE).is_some_and(|v| v == point) {
        eprintln!("{VARIABLE} {point}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
