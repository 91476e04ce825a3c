//! What the commands print. A reader that leaves early (`catalog-sync runs | head -3`,
//! `status --json | true`) ends the output, not the command: the rest of what it would have
//! printed is dropped without a word, the command finishes its work, and its exit code is the
//! one it would have had (0 for a listing, the run's status for a sync). A work's outcome never
//! depends on whether anyone read its report. Any other failure to write stdout (a full disk)
//! is an error.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once the reader of stdout, or of stderr, has gone.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// Writes to stdout; what `out!` and `outln!` call.
pub fn stdout(args: fmt::Arguments<'_>) -> io::Result<()> {
    write_to(&mut io::stdout().lock(), &STDOUT_GONE, args)
        .map_err(|e| io::Error::new(e.kind(), format!("writing to stdout: {e}")))
}

/// Writes to stderr; what `errln!` calls. An error message that cannot be written has
/// nowhere else to go.
pub fn stderr(args: fmt::Arguments<'_>) {
    let _ = write_to(&mut io::stderr().lock(), &STDERR_GONE, args);
}

fn write_to(out: &mut impl Write, gone: &AtomicBool, args: fmt::Arguments<'_>) -> io::Result<()> {
    if gone.load(Ordering::Relaxed) {
        return Ok(());
    }
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            gone.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// `print!` that ends quietly when the reader has gone; returns `io::Result<()>`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::print::stdout(format_args!($($arg)*))
    };
}

/// `println!` that ends quietly when the reader has gone; returns `io::Result<()>`.
macro_rules! outln {
    () => {
        $crate::cli::print::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::print::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that ends quietly when the reader has gone.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::print::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, out, outln};

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone after `room` bytes.
    struct Pipe {
        written: Vec<u8>,
        room: usize,
    }

    impl Write for Pipe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.written.len() + buf.len() > self.room {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_reader_that_leaves_ends_the_output_quietly() {
        let gone = AtomicBool::new(false);
        let mut pipe = Pipe {
            written: Vec::new(),
            room: 8,
        };
        assert!(write_to(&mut pipe, &gone, format_args!("line 1\n")).is_ok());
        assert!(write_to(&mut pipe, &gone, format_args!("line 2\n")).is_ok());
        assert!(gone.load(Ordering::Relaxed));
        pipe.room = usize::MAX;
        assert!(write_to(&mut pipe, &gone, format_args!("line 3\n")).is_ok());
        assert_eq!(pipe.written, b"line 1\n", "nothing after the reader left");
    }

    #[test]
    fn other_write_failures_are_errors() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::StorageFull.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let gone = AtomicBool::new(false);
        assert!(write_to(&mut Full, &gone, format_args!("x")).is_err());
        assert!(!gone.load(Ordering::Relaxed));
    }
}
