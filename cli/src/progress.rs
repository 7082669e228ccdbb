//! User-facing progress on stderr: steps as they start and finish, and
//! counters (nodes Ready x/N) updated in place on a terminal.

use std::io::{IsTerminal as _, Write as _};
use std::time::Instant;

/// Writes progress lines to stderr unless quiet.
pub(crate) struct Progress {
    quiet: bool,
    tty: bool,
    /// A line without its newline is on screen (terminal only).
    line_open: bool,
    /// The last counter shown, to print only changes.
    last_update: Option<String>,
    step_started: Instant,
}

impl Progress {
    pub(crate) fn new(quiet: bool) -> Self {
        Self {
            quiet,
            tty: std::io::stderr().is_terminal(),
            line_open: false,
            last_update: None,
            step_started: Instant::now(),
        }
    }

    fn close_line(&mut self) {
        if std::mem::take(&mut self.line_open) {
            eprintln!();
        }
    }

    fn open_line(&mut self, message: &str) {
        eprint!("\r\x1b[K • {message} ...");
        let _ = std::io::stderr().flush();
        self.line_open = true;
    }

    /// A step begins.
    pub(crate) fn step(&mut self, message: &str) {
        self.step_started = Instant::now();
        self.last_update = None;
        if self.quiet {
            return;
        }
        self.close_line();
        if self.tty {
            self.open_line(message);
        } else {
            eprintln!(" • {message} ...");
        }
    }

    /// The current step finished.
    pub(crate) fn done(&mut self, message: &str) {
        if self.quiet {
            return;
        }
        let took = self.step_started.elapsed().as_secs_f64();
        if std::mem::take(&mut self.line_open) {
            eprint!("\r\x1b[K");
        }
        eprintln!(" ✓ {message} ({took:.1}s)");
    }

    /// Something the user should know that is not a step.
    pub(crate) fn note(&mut self, message: &str) {
        if self.quiet {
            return;
        }
        self.close_line();
        eprintln!(" - {message}");
    }

    /// A counter changed: shown in place on a terminal, else as a line.
    pub(crate) fn update(&mut self, message: &str) {
        if self.quiet || self.last_update.as_deref() == Some(message) {
            return;
        }
        self.last_update = Some(message.to_owned());
        if self.tty {
            self.open_line(message);
        } else {
            eprintln!("   {message}");
        }
    }

    /// Plain output (the closing instructions).
    pub(crate) fn say(&mut self, message: &str) {
        if self.quiet {
            return;
        }
        self.close_line();
        eprintln!("{message}");
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An error or interruption is printed on a line of its own.
        self.close_line();
    }
}
