//! Helpers shared by the CLI's integration tests: the workspace binaries,
//! drop guards that kill whatever a test started, kubectl, process scans.

#![allow(dead_code)]

use bosun_cli::Cluster;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The `target/<profile>` directory, from this test binary's path
/// (`target/<profile>/deps/<test>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("target directory")
}

/// Builds the workspace's binaries once per test process (so the
/// apiserver, and the other components where they exist, are current), and
/// checks that `bosun-apiserver` is beside them.
pub fn ensure_binaries() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let mut command = Command::new(cargo);
        command
            .args(["build", "--quiet", "--workspace", "--bins"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        // Cargo sets these for the test process. Build scripts (ring's) that
        // declare `rerun-if-env-changed` on them would otherwise be rerun,
        // and the next `cargo test` would rebuild them back.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let set_for_tests = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
                || [
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_RUSTC_CURRENT_DIR",
                ]
                .contains(&key.as_ref());
            if set_for_tests {
                command.env_remove(key.as_ref());
            }
        }
        if target_dir().file_name() == Some("release".as_ref()) {
            command.arg("--release");
        }
        let status = command.status().expect("run cargo build");
        assert!(status.success(), "building the workspace binaries failed");
        let apiserver = target_dir().join("bosun-apiserver");
        assert!(
            apiserver.exists(),
            "{} is missing: build bosun-apiserver into this target directory",
            apiserver.display()
        );
    });
}

/// Kills every process recorded in a data directory's `cluster.json` when
/// dropped, so a failing test leaves nothing running.
pub struct Guard {
    /// The data directory guarded.
    pub data_dir: PathBuf,
}

impl Guard {
    /// Guards `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(Some(cluster)) = Cluster::load(&self.data_dir) {
            cluster.kill_now();
        }
    }
}

/// What a command printed.
#[derive(Debug)]
pub struct Run {
    /// Whether it exited 0.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Panics with the output unless the command succeeded; returns stdout.
    pub fn ok(self) -> String {
        assert!(
            self.success,
            "command failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self.stdout
    }
}

/// Runs the real `kubectl` with `KUBECONFIG=kubeconfig` and `HOME=home`.
pub fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str]) -> Run {
    Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .expect("run kubectl")
        .into()
}

/// Live processes whose command line mentions `needle` (zombies excluded).
pub fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) && bosun_cli::process::is_alive(pid) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// Writes an executable shell script.
pub fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod script");
}
