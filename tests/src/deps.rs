//! What some tests need beyond the Rust toolchain, PostgreSQL and Redis:
//! Chromium, PowerDNS, xmllint, poppler and Caddy. The first test that misses one
//! runs the project's own `.ci/install-test-deps` (Debian packages), once per
//! test process, so the README's one test command works on a fresh machine.
//! Where it cannot install (no apt, no root or sudo, or
//! `RELABEL_TEST_INSTALL=0`), the test is skipped with a message; in CI it fails.

use std::path::Path;
use std::sync::Mutex;

/// Whether `name` runs from `PATH` (or is an existing absolute path).
pub fn tool(name: &str) -> bool {
    if name.starts_with('/') {
        return Path::new(name).exists();
    }
    std::process::Command::new("which")
        .arg(name)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether `present()` holds, after installing the test dependencies once if it
/// did not. `what` names the dependency in the skip message.
pub fn ensure(what: &str, present: impl Fn() -> bool) -> bool {
    if present() {
        return true;
    }
    install_once();
    if present() {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v.is_empty()),
        "{what} is missing and .ci/install-test-deps did not install it"
    );
    eprintln!(
        "SKIPPED: {what} is not installed and .ci/install-test-deps could not install it \
         (it needs apt-get and root or sudo)"
    );
    false
}

/// [`ensure`] for command-line tools.
pub fn ensure_tools(tools: &[&str]) -> bool {
    ensure(&tools.join(", "), || tools.iter().all(|t| tool(t)))
}

fn install_once() {
    static TRIED: Mutex<bool> = Mutex::new(false);
    let mut tried = TRIED.lock().unwrap_or_else(|e| e.into_inner());
    if *tried || std::env::var("RELABEL_TEST_INSTALL").is_ok_and(|v| v == "0") {
        return;
    }
    *tried = true;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/install-test-deps");
    eprintln!("installing test dependencies: {}", script.display());
    match std::process::Command::new("bash").arg(&script).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => eprintln!(
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("{} did not run: {e}", script.display()),
    }
}
