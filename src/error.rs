//! One error type for the whole tool, and the exit-code contract.
//!
//! Every subcommand returns `Result<Outcome>`:
//!
//! | exit | meaning                                                          |
//! |------|------------------------------------------------------------------|
//! | 0    | `Ok(Outcome::Pass)`: the gate passed                              |
//! | 1    | `Ok(Outcome::Fail)`: the gate failed (mismatch, drift, findings)  |
//! | 2    | `Ok(Outcome::Incomplete)`: no failing finding, but some input was  |
//! |      | not read (the report lists it under `skipped`)                     |
//! | 2    | `Err(Error::Usage | Error::Input | Error::Io)`: bad usage or input |
//! | 2    | `Err(Error::Internal)`: a bug in mlguard (never input's fault)     |
//! | 3    | `Err(Error::Trust)`: signature or trust failure                   |
//!
//! A failed gate is *not* an error: the command did its job and the answer is "no".
//! Errors always name the file (and line/row/record where one applies) so that a user can
//! find the bad byte without a debugger.

use std::fmt::Display;
use std::io;
use std::path::Path;

/// What a command concluded when it ran to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Pass,
    /// Exit 1: the gate failed.
    Fail,
    /// Exit 2: nothing failed the gate, but not everything was read, so it cannot pass.
    Incomplete,
}

impl Outcome {
    pub fn from_failed(failed: bool) -> Outcome {
        if failed {
            Outcome::Fail
        } else {
            Outcome::Pass
        }
    }
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::Incomplete => 2,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or arguments (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Malformed or unacceptable input. `location` is the file, optionally with
    /// `:line`, ` row N` or ` record N` appended by the constructor (exit 2).
    #[error("{location}: {message}")]
    Input { location: String, message: String },
    /// An I/O error on a named file (exit 2).
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    /// Signature or trust failure (exit 3).
    #[error("{0}")]
    Trust(String),
    /// A bug in mlguard (a worker thread of ours panicked, an invariant broke): never
    /// blamed on the input, and never a pass (exit 2).
    #[error("internal error: {0} (this is a bug in mlguard; please report it)")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn usage(msg: impl Display) -> Error {
        Error::Usage(msg.to_string())
    }
    /// Input error about a whole file.
    pub fn input(path: impl AsRef<Path>, msg: impl Display) -> Error {
        Error::Input {
            location: path.as_ref().display().to_string(),
            message: msg.to_string(),
        }
    }
    /// Input error at a 1-based line of a text file (`file:line: msg`, as compilers print).
    pub fn input_at_line(path: impl AsRef<Path>, line: u64, msg: impl Display) -> Error {
        Error::Input {
            location: format!("{}:{}", path.as_ref().display(), line),
            message: msg.to_string(),
        }
    }
    /// Input error at a named place inside a file, e.g. `"row 17"`, `"record 3"`, `"entry 'a/b'"`.
    pub fn input_at(path: impl AsRef<Path>, place: impl Display, msg: impl Display) -> Error {
        Error::Input {
            location: format!("{} ({})", path.as_ref().display(), place),
            message: msg.to_string(),
        }
    }
    pub fn io(path: impl AsRef<Path>, source: io::Error) -> Error {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
    pub fn trust(msg: impl Display) -> Error {
        Error::Trust(msg.to_string())
    }
    pub fn internal(msg: impl Display) -> Error {
        Error::Internal(msg.to_string())
    }

    /// The exit code this error maps to (2 or 3).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Input { .. } | Error::Io { .. } | Error::Internal(_) => 2,
            Error::Trust(_) => 3,
        }
    }
}

/// Attach a file name to an `io::Result`.
pub trait IoContext<T> {
    fn with_path(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn with_path(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Outcome::Pass.exit_code(), 0);
        assert_eq!(Outcome::Fail.exit_code(), 1);
        assert_eq!(Outcome::Incomplete.exit_code(), 2);
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::input("f", "x").exit_code(), 2);
        assert_eq!(
            Error::io("f", io::Error::from(io::ErrorKind::NotFound)).exit_code(),
            2
        );
        assert_eq!(Error::trust("x").exit_code(), 3);
        assert_eq!(Error::internal("x").exit_code(), 2);
    }

    #[test]
    fn errors_name_the_file_and_place() {
        assert_eq!(
            Error::input_at_line("a.csv", 7, "ragged row").to_string(),
            "a.csv:7: ragged row"
        );
        assert_eq!(
            Error::input_at("m.json", "entry 'x/../y'", "path escapes the root").to_string(),
            "m.json (entry 'x/../y'): path escapes the root"
        );
    }
}
