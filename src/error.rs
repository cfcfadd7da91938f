//! The library's error type: an opaque struct with a kind and a message that names the thing at
//! fault (a rule id, a path, an archive member). Context is added by wrapping.

use std::fmt;

/// What went wrong, broadly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A rule file could not be parsed or a rule is invalid.
    Rule,
    /// A configuration value or file is invalid.
    Config,
    /// Reading an input failed.
    Io,
    /// An archive is corrupt, truncated or over a limit.
    Archive,
}

/// An error with a lowercase message and an optional `hint:` line.
#[derive(Clone, Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    io_kind: Option<std::io::ErrorKind>,
}

impl Error {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), hint: None, io_kind: None }
    }

    /// Adds a `hint:` line telling the user how to fix it.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// Prefixes the message with context (a path, a rule id, a member name).
    #[must_use]
    pub fn context(mut self, what: impl fmt::Display) -> Error {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn io(err: &std::io::Error) -> Error {
        Error::new(ErrorKind::Io, io_message(err)).with_io_kind(err.kind())
    }

    /// Records the io::ErrorKind behind this error.
    #[must_use]
    pub fn with_io_kind(mut self, kind: std::io::ErrorKind) -> Error {
        self.io_kind = Some(kind);
        self
    }

    /// True when writing the output failed because the reader went away (`| head`).
    pub fn is_broken_pipe(&self) -> bool {
        self.io_kind == Some(std::io::ErrorKind::BrokenPipe)
    }
}

/// An io::Error as a lowercase message without the "(os error N)" noise.
pub fn io_message(err: &std::io::Error) -> String {
    let mut s = err.to_string();
    if let Some(i) = s.find(" (os error") {
        s.truncate(i);
    }
    // Some wrappers repeat the path the caller already names.
    if s.starts_with("IO error for operation on ")
        && let Some(i) = s.rfind(": ")
    {
        s.drain(..i + 2);
    }
    let mut chars = s.chars();
    if let (Some(a), Some(b)) = (chars.next(), chars.next())
        && a.is_uppercase()
        && !b.is_uppercase()
    {
        s.replace_range(0..a.len_utf8(), &a.to_lowercase().to_string());
    }
    s
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
