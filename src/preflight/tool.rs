//! Running the external programs preflight relies on (npm, cargo, python3, git, auditors): a
//! missing program, a failure and a timeout are told apart so the report can say which, and both
//! output pipes are drained on threads so a chatty tool cannot block.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long an ecosystem tool may run.
pub const TIMEOUT: Duration = Duration::from_mins(3);

/// What running a program gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit status 0.
    Ok {
        /// Standard output.
        stdout: Vec<u8>,
        /// Standard error, lossy.
        stderr: String,
    },
    /// The program is not installed (not found on `PATH`).
    Missing,
    /// It ran and failed (non-zero exit or killed): a message quoting its error output, and its
    /// standard output (auditors exit 1 when they find something and still write their report).
    Failed(String, Vec<u8>),
    /// It did not finish within the timeout and was killed.
    TimedOut,
}

/// Runs `program args` in `cwd` with extra `env`, waiting at most `timeout`.
pub fn run(program: &str, args: &[&str], cwd: &Path, env: &[(&str, &str)], timeout: Duration) -> Outcome {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(cwd).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Outcome::Missing,
        Err(e) => {
            return Outcome::Failed(format!("cannot start '{program}': {}", crate::error::io_message(&e)), Vec::new());
        }
    };
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    // After a timeout a grandchild may still hold the pipes open: leave the drain threads be.
    let Some(status) = status else { return Outcome::TimedOut };
    let stdout = out.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    match status {
        s if s.success() => Outcome::Ok { stdout, stderr },
        s => {
            let why = error_line(&stderr).or_else(|| error_line(&String::from_utf8_lossy(&stdout)));
            let why = match why {
                Some(line) => format!("'{line}'"),
                None => format!("exit status {}", s.code().map_or_else(|| "signal".to_string(), |c| c.to_string())),
            };
            Outcome::Failed(why, stdout)
        }
    }
}

/// The most telling line of a tool's error output: the first that says "error", else the last
/// non-empty one; at most 200 characters.
fn error_line(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let line = lines.iter().find(|l| l.to_ascii_lowercase().contains("error")).or(lines.last())?;
    Some(line.chars().take(200).collect())
}

/// `git args` in `dir`; its stdout when it succeeds, `None` when git is missing or fails (not a
/// repository, no such ref, unset config).
pub fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let mut full = vec!["-C", dir.to_str()?];
    full.extend_from_slice(args);
    match run("git", &full, dir, &[("GIT_TERMINAL_PROMPT", "0")], Duration::from_secs(30)) {
        Outcome::Ok { stdout, .. } => Some(String::from_utf8_lossy(&stdout).into_owned()),
        _ => None,
    }
}

/// True when `program --version` runs.
pub fn installed(program: &str, args: &[&str]) -> bool {
    matches!(run(program, args, Path::new("."), &[], Duration::from_secs(30)), Outcome::Ok { .. })
}

/// A directory under the system temp dir, removed (with its contents) on drop.
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates a fresh, empty directory named after `what`.
    pub fn new(what: &str) -> std::io::Result<TempDir> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        for attempt in 0..100u32 {
            let path = base.join(format!("sluice-{what}-{}-{nanos}-{attempt}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "no free temporary directory name"))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        let here = Path::new(".");
        assert_eq!(run("sluice-no-such-program", &[], here, &[], TIMEOUT), Outcome::Missing);
        assert!(
            matches!(run("sh", &["-c", "echo hi"], here, &[], TIMEOUT), Outcome::Ok { stdout, .. } if stdout == b"hi\n")
        );
        assert_eq!(
            run("sh", &["-c", "echo noise; echo 'error: broken' >&2; exit 3"], here, &[], TIMEOUT),
            Outcome::Failed("'error: broken'".into(), b"noise\n".to_vec())
        );
        assert_eq!(run("sh", &["-c", "exec sleep 5"], here, &[], Duration::from_millis(50)), Outcome::TimedOut);
    }

    #[test]
    fn error_lines() {
        assert_eq!(error_line("warning: x\nerror: y\nz\n").as_deref(), Some("error: y"));
        assert_eq!(error_line("a\nb\n\n").as_deref(), Some("b"));
        assert_eq!(error_line("  \n"), None);
    }
}
