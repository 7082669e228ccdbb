//! Background processes: starting components detached from the terminal,
//! recognising them again by PID, and stopping them.
//!
//! Each component is started in a process group of its own
//! ([`std::os::unix::process::CommandExt::process_group`], std's safe wrapper of `setpgid`), with
//! stdin from /dev/null and stdout/stderr appended to its log file, so
//! neither Ctrl-C in the terminal nor the terminal closing reaches it and it
//! outlives the `bosun` process. Signals go to that process group (so helper
//! processes a component forks go too), and only after checking that the
//! PID still runs the recorded binary: a PID reused by an unrelated process
//! is never signalled.

use crate::error::{Error, Result};
use rustix::process::{Pid, Signal, WaitOptions};
use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a component gets to exit after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long to wait for a process to disappear after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(20);

/// A started background process.
#[derive(Debug)]
pub(crate) struct Spawned {
    /// The child; dropping it neither kills nor waits for the process.
    pub child: Child,
    /// Where this start's output begins in the log file.
    pub log_offset: u64,
}

/// Starts `binary` detached, in its own process group, with its working
/// directory `cwd` and its output appended to `log`.
pub(crate) fn spawn(binary: &Path, args: &[String], cwd: &Path, log: &Path) -> Result<Spawned> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    }
    let mut out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(Error::io(log))?;
    let _ = writeln!(
        out,
        "--- bosun: starting {} {}",
        binary.display(),
        args.join(" ")
    );
    let log_offset = out.metadata().map_err(Error::io(log))?.len();
    let err = out.try_clone().map_err(Error::io(log))?;
    let child = Command::new(binary)
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .map_err(|source| Error::Spawn {
            binary: binary.to_owned(),
            source,
        })?;
    tracing::debug!(binary = %binary.display(), pid = child.id(), "spawned");
    Ok(Spawned { child, log_offset })
}

fn pid_of(pid: u32) -> Option<Pid> {
    i32::try_from(pid).ok().and_then(Pid::from_raw)
}

/// Collects `pid`'s exit status if it is a child of this process that has
/// exited, so it does not linger as a zombie; a no-op otherwise.
fn reap(pid: u32) {
    if let Some(pid) = pid_of(pid) {
        let _ = rustix::process::waitpid(Some(pid), WaitOptions::NOHANG);
    }
}

/// The state letter in `/proc/<pid>/stat`, if the process exists.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ..." where comm may itself contain ") ".
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}

/// Whether process `pid` exists and has not exited (zombies have).
pub fn is_alive(pid: u32) -> bool {
    reap(pid);
    matches!(proc_state(pid), Some(state) if state != 'Z' && state != 'X')
}

fn strip_deleted(path: PathBuf) -> PathBuf {
    // A binary rebuilt since the process started shows as "… (deleted)".
    match path.to_str().and_then(|s| s.strip_suffix(" (deleted)")) {
        Some(stripped) => PathBuf::from(stripped),
        None => path,
    }
}

/// Whether process `pid` runs `binary` with `args`: its command line
/// ends with `args`, preceded by `binary` itself, either as the executable
/// (whatever `argv[0]` says) or as the script an interpreter runs.
fn runs_binary(pid: u32, binary: &Path, args: &[String]) -> bool {
    let binary = binary.canonicalize().unwrap_or_else(|_| binary.to_owned());
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let mut argv: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    if argv.last().is_some_and(|last| last.is_empty()) {
        argv.pop();
    }
    let Some(split) = argv.len().checked_sub(args.len()) else {
        return false;
    };
    let (head, tail) = argv.split_at(split);
    if !tail
        .iter()
        .zip(args)
        .all(|(have, want)| *have == want.as_bytes())
    {
        return false;
    }
    let exe_matches = std::fs::read_link(format!("/proc/{pid}/exe"))
        .is_ok_and(|exe| strip_deleted(exe) == binary);
    let script_matches = head.len() == 2 && Path::new(OsStr::from_bytes(head[1])) == binary;
    (exe_matches && head.len() == 1) || script_matches
}

/// Whether `pid` is alive and still runs `binary` with `args`.
pub fn is_running(pid: u32, binary: &Path, args: &[String]) -> bool {
    is_alive(pid) && runs_binary(pid, binary, args)
}

/// Sends `signal` to `pid`'s process group when `pid` leads one (as every
/// component does), else to `pid` alone.
fn signal(pid: u32, signal: Signal) -> std::io::Result<()> {
    let Some(target) = pid_of(pid) else {
        return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
    };
    let leads_group = rustix::process::getpgid(Some(target)).is_ok_and(|pgid| pgid == target);
    let result = if leads_group {
        rustix::process::kill_process_group(target, signal)
    } else {
        rustix::process::kill_process(target, signal)
    };
    match result {
        Err(rustix::io::Errno::SRCH) | Ok(()) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The process was not running (or no longer runs the recorded binary).
    NotRunning,
    /// It exited after SIGTERM.
    Terminated,
    /// It had to be killed with SIGKILL.
    Killed,
}

async fn wait_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !is_alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Stops process `pid` if it still runs `binary` with `args`: SIGTERM to
/// its process group, then SIGKILL when it has not exited within `grace`.
pub async fn stop(
    name: &str,
    pid: u32,
    binary: &Path,
    args: &[String],
    grace: Duration,
) -> Result<Stopped> {
    if !is_running(pid, binary, args) {
        return Ok(Stopped::NotRunning);
    }
    let failed = |reason: String| Error::Stop {
        component: name.to_owned(),
        pid,
        reason,
    };
    signal(pid, Signal::TERM).map_err(|e| failed(format!("SIGTERM: {e}")))?;
    if wait_gone(pid, grace).await {
        return Ok(Stopped::Terminated);
    }
    tracing::warn!(
        component = name,
        pid,
        "did not exit after SIGTERM; sending SIGKILL"
    );
    signal(pid, Signal::KILL).map_err(|e| failed(format!("SIGKILL: {e}")))?;
    if wait_gone(pid, KILL_WAIT).await {
        Ok(Stopped::Killed)
    } else {
        Err(failed("still running after SIGKILL".to_owned()))
    }
}

/// Stops a child this process started (no PID check is needed: an
/// unreaped child's PID cannot be reused): SIGTERM to its group, SIGKILL
/// after `grace`, and reaps it.
pub(crate) async fn stop_child(child: &mut Child, grace: Duration) -> Stopped {
    let pid = child.id();
    if !matches!(child.try_wait(), Ok(None)) {
        let _ = signal(pid, Signal::KILL); // helpers it may have left behind
        return Stopped::NotRunning;
    }
    let _ = signal(pid, Signal::TERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            let _ = signal(pid, Signal::KILL);
            return Stopped::Terminated;
        }
        tokio::time::sleep(POLL).await;
    }
    let _ = signal(pid, Signal::KILL);
    let _ = child.wait();
    Stopped::Killed
}

/// Kills a child this process started at once and reaps it (for drop
/// paths, which cannot wait asynchronously).
pub(crate) fn kill_child_now(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None)) {
        let _ = signal(child.id(), Signal::KILL);
        let _ = child.wait();
    }
}

/// Kills `pid`'s process group at once (SIGKILL) if `pid` still runs
/// `binary` with `args`, and reaps it if it is this process's child.
pub fn kill_now(pid: u32, binary: &Path, args: &[String]) {
    if is_running(pid, binary, args) {
        let _ = signal(pid, Signal::KILL);
        let deadline = Instant::now() + KILL_WAIT;
        while is_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
    }
}

/// The last `max_lines` lines of `log` from byte `offset` on (at most the
/// last 16 KiB of it).
pub fn log_tail(log: &Path, offset: u64, max_lines: usize) -> String {
    const MAX_BYTES: u64 = 16 * 1024;
    let Ok(mut file) = std::fs::File::open(log) else {
        return "(no log)".to_owned();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let start = offset.max(len.saturating_sub(MAX_BYTES)).min(len);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return "(unreadable log)".to_owned();
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(max_lines)..].join("\n");
    if tail.trim().is_empty() {
        "(empty)".to_owned()
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeper(dir: &Path) -> Spawned {
        let sh = PathBuf::from("/bin/sh");
        spawn(&sh, &sleeper_args(), dir, &dir.join("logs/x.log")).expect("spawn")
    }

    fn sleeper_args() -> Vec<String> {
        vec!["-c".to_owned(), "echo hello; exec sleep 30 1".to_owned()]
    }

    #[tokio::test]
    async fn spawn_check_stop() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut spawned = sleeper(dir.path());
        let pid = spawned.child.id();
        // Its own process group.
        let target = pid_of(pid).expect("pid");
        assert_eq!(
            rustix::process::getpgid(Some(target)).expect("pgid"),
            target
        );
        let sleep = PathBuf::from("/bin/sleep").canonicalize().expect("sleep");
        let sleep_args = vec!["30".to_owned(), "1".to_owned()];
        let deadline = Instant::now() + Duration::from_secs(5);
        while !is_running(pid, &sleep, &sleep_args) {
            assert!(Instant::now() < deadline, "sleep never ran");
            std::thread::sleep(POLL);
        }
        assert!(
            !is_running(pid, Path::new("/bin/true"), &sleep_args),
            "wrong binary matched"
        );
        assert!(
            !is_running(pid, &sleep, &["31".to_owned()]),
            "wrong args matched"
        );
        // A wrong binary is never signalled.
        assert_eq!(
            stop("x", pid, Path::new("/bin/true"), &sleep_args, STOP_GRACE)
                .await
                .expect("stop"),
            Stopped::NotRunning
        );
        assert!(is_alive(pid));
        assert_eq!(
            stop("x", pid, &sleep, &sleep_args, STOP_GRACE)
                .await
                .expect("stop"),
            Stopped::Terminated
        );
        assert!(!is_alive(pid));
        assert!(
            std::fs::metadata(format!("/proc/{pid}")).is_err(),
            "zombie left"
        );
        let tail = log_tail(&dir.path().join("logs/x.log"), spawned.log_offset, 5);
        assert_eq!(tail, "hello");
        drop(spawned.child.try_wait());
    }

    #[tokio::test]
    async fn scripts_are_recognised_by_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = dir.path().join("fake-component");
        std::fs::write(&script, "#!/bin/sh\nsleep 30\n").expect("write");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let args = vec!["--flag".to_owned(), "value".to_owned()];
        let mut spawned =
            spawn(&script, &args, dir.path(), &dir.path().join("x.log")).expect("spawn");
        let pid = spawned.child.id();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !is_running(pid, &script, &args) {
            assert!(Instant::now() < deadline, "script not recognised");
            std::thread::sleep(POLL);
        }
        kill_now(pid, &script, &args);
        assert!(!is_alive(pid));
        let _ = spawned.child.try_wait();
    }

    #[tokio::test]
    async fn stop_child_escalates() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sh = PathBuf::from("/bin/sh");
        let args = vec![
            "-c".to_owned(),
            "trap '' TERM; sleep 30; sleep 30".to_owned(),
        ];
        let mut spawned = spawn(&sh, &args, dir.path(), &dir.path().join("x.log")).expect("spawn");
        std::thread::sleep(Duration::from_millis(200));
        let outcome = stop_child(&mut spawned.child, Duration::from_millis(300)).await;
        assert_eq!(outcome, Stopped::Killed);
        assert!(!is_alive(spawned.child.id()));
    }

    #[test]
    fn tail_of_missing_log() {
        assert_eq!(log_tail(Path::new("/nonexistent/log"), 0, 5), "(no log)");
    }
}
