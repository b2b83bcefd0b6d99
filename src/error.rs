//! The one error type of the core.
//!
//! Every fallible function returns [`CoreError`]: a stable machine-readable [`ErrorKind`] (its
//! [`ErrorKind::code`] crosses the WASM boundary as the `code` property of a JS `Error`) and a
//! message for people that says what was wrong, where (byte offset, record or chunk index), and
//! what to do about it when there is something to do.

use std::fmt;

/// What went wrong, grouped by what the caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A hash string is not 64 hex digits.
    InvalidHex,
    /// An argument is out of range or inconsistent with another argument.
    InvalidArgument,
    /// The input ends before a structure it announces is complete.
    Truncated,
    /// A xorb chunk record is malformed (bad version, scheme, length field, or trailing data).
    BadRecord,
    /// A compressed payload cannot be decompressed.
    BadCompression,
    /// A decoded length differs from the length the input announced.
    LengthMismatch,
    /// A hash computed from the data differs from the expected hash.
    HashMismatch,
    /// A shard is malformed.
    BadShard,
    /// A protocol limit (chunks per xorb, xorb size, shard size) would be exceeded.
    LimitExceeded,
    /// A method was called at a time the object does not allow it.
    InvalidState,
}

impl ErrorKind {
    /// The stable SCREAMING_SNAKE code of this kind. Never changes between versions.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidHex => "INVALID_HEX",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::Truncated => "TRUNCATED",
            ErrorKind::BadRecord => "BAD_RECORD",
            ErrorKind::BadCompression => "BAD_COMPRESSION",
            ErrorKind::LengthMismatch => "LENGTH_MISMATCH",
            ErrorKind::HashMismatch => "HASH_MISMATCH",
            ErrorKind::BadShard => "BAD_SHARD",
            ErrorKind::LimitExceeded => "LIMIT_EXCEEDED",
            ErrorKind::InvalidState => "INVALID_STATE",
        }
    }

    /// Every kind, for exhaustive tests of the code table.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::InvalidHex,
        ErrorKind::InvalidArgument,
        ErrorKind::Truncated,
        ErrorKind::BadRecord,
        ErrorKind::BadCompression,
        ErrorKind::LengthMismatch,
        ErrorKind::HashMismatch,
        ErrorKind::BadShard,
        ErrorKind::LimitExceeded,
        ErrorKind::InvalidState,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The error of every fallible core function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreError {
    /// What kind of failure; `kind.code()` is stable.
    pub kind: ErrorKind,
    /// Human-readable detail: what, where, and what to do.
    pub message: String,
}

impl CoreError {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CoreError {
            kind,
            message: message.into(),
        }
    }

    /// The stable code of the kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for CoreError {}

/// Result alias of the core.
pub type Result<T> = std::result::Result<T, CoreError>;

/// Shorthand constructor used inside the crate.
pub(crate) fn err<T>(kind: ErrorKind, message: impl Into<String>) -> Result<T> {
    Err(CoreError::new(kind, message))
}
