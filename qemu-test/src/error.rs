//! The harness's one error type.

use std::fmt;
use std::io;
use std::time::Duration;

/// Everything that can go wrong while building, booting or driving a guest.
///
/// Errors about a running QEMU carry the tail of its serial log and its
/// stderr, so that a failing test says why without a rerun.
#[derive(Debug)]
pub enum HarnessError {
    /// A system tool is missing. `install` is the exact command that installs it.
    MissingTool { tool: String, install: String },
    /// An I/O operation failed; `context` says which and on what.
    Io { context: String, source: io::Error },
    /// Building the payload or the guest failed.
    Build { command: String, output: String },
    /// An input the harness cannot use as given (e.g. a command line a boot loader would change).
    Invalid(String),
    /// Waiting for something timed out.
    Timeout { what: String, waited: Duration, serial_tail: String, stderr: String },
    /// QEMU exited (or was killed) while we were waiting for something else.
    Exited { what: String, status: String, serial_tail: String, stderr: String },
    /// QEMU answered a QMP command with an error.
    Qmp { command: String, class: String, desc: String },
    /// The QMP stream broke its protocol (bad JSON, missing greeting, EOF).
    Protocol(String),
    /// An image file could not be parsed or written.
    Image(String),
    /// A SPICE server answered something unexpected (or nothing).
    Spice(String),
    /// A screen region differs from what was expected; `artifacts` are the
    /// PNGs saved for a look (actual, expected).
    Screen { what: String, mismatch: crate::image::Mismatch, artifacts: Vec<std::path::PathBuf> },
}

/// The harness's result type.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;

impl HarnessError {
    /// Wraps an I/O error with what we were doing.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        HarnessError::Io { context: context.into(), source }
    }
}

fn write_logs(f: &mut fmt::Formatter<'_>, serial_tail: &str, stderr: &str) -> fmt::Result {
    write!(f, "\n--- serial log (tail) ---\n")?;
    if serial_tail.is_empty() {
        writeln!(f, "(empty)")?;
    } else {
        write!(f, "{}", serial_tail)?;
        if !serial_tail.ends_with('\n') {
            writeln!(f)?;
        }
    }
    writeln!(f, "--- qemu stderr ---")?;
    if stderr.is_empty() {
        write!(f, "(empty)")
    } else {
        write!(f, "{}", stderr.trim_end())
    }
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HarnessError::MissingTool { tool, install } => {
                write!(f, "{tool} is not installed; install it with:\n{install}")
            }
            HarnessError::Io { context, source } => write!(f, "{context}: {source}"),
            HarnessError::Build { command, output } => {
                write!(f, "build failed: {command}\n{}", output.trim_end())
            }
            HarnessError::Invalid(msg) => f.write_str(msg),
            HarnessError::Timeout { what, waited, serial_tail, stderr } => {
                write!(f, "timed out after {:.1} s waiting for {what}", waited.as_secs_f64())?;
                write_logs(f, serial_tail, stderr)
            }
            HarnessError::Exited { what, status, serial_tail, stderr } => {
                write!(f, "QEMU {status} while waiting for {what}")?;
                write_logs(f, serial_tail, stderr)
            }
            HarnessError::Qmp { command, class, desc } => write!(f, "QMP command {command} failed: {class}: {desc}"),
            HarnessError::Protocol(msg) => write!(f, "QMP protocol error: {msg}"),
            HarnessError::Image(msg) => write!(f, "image error: {msg}"),
            HarnessError::Spice(msg) => write!(f, "SPICE: {msg}"),
            HarnessError::Screen { what, mismatch, artifacts } => {
                write!(f, "{what}: {mismatch}")?;
                for a in artifacts {
                    write!(f, "\n  saved {}", a.display())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for HarnessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HarnessError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
