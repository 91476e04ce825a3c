//! The dead-letters table, cut to the terminal's width.

use std::fmt::Write;

/// Width of the columns of the dead-letters table before the reason, separators included.
const DEAD_LETTER_FIXED: usize = 8 + 2 + 19 + 2 + 24 + 2 + 9 + 2;
/// The body's column: at most this wide (`--json` has it whole), at least [`NARROWEST_BODY`].
const DEAD_LETTER_BODY: usize = 60;
/// The narrowest the reason and the body are cut to, however narrow the terminal.
const NARROWEST_REASON: usize = 20;
const NARROWEST_BODY: usize = 10;

/// The stored dead letters, one line each: sequence, when, subject, reason, body's start.
/// `width` is how wide a line may be (the terminal's); the reason, which says why, comes first:
/// it is cut only to fit `width`, and never without one. The body is cut to what is left.
pub fn dead_letters_table(
    letters: &[crate::bus::dead::StoredDeadLetter],
    width: Option<usize>,
) -> String {
    let longest = letters
        .iter()
        .map(|d| d.letter.reason.chars().count())
        .max()
        .unwrap_or(0)
        .max("reason".len());
    let room = width.map(|w| w.saturating_sub(DEAD_LETTER_FIXED));
    let reason_width = match room {
        Some(room) => longest
            .min(room.saturating_sub(2 + NARROWEST_BODY))
            .max(NARROWEST_REASON),
        None => longest,
    };
    let body_width = room.map_or(DEAD_LETTER_BODY, |room| {
        room.saturating_sub(reason_width + 2)
            .clamp(NARROWEST_BODY, DEAD_LETTER_BODY)
    });
    let mut out = format!(
        "{:>8}  {:<19}  {:<24}  {:>9}  {:<reason_width$}  {}\n",
        "sequence", "dead at (UTC)", "subject", "delivered", "reason", "body"
    );
    for d in letters {
        let body = d.letter.body.as_deref().map_or_else(
            || "(binary)".to_owned(),
            |b| clip(&b.replace('\n', " "), body_width),
        );
        let _ = writeln!(
            out,
            "{:>8}  {:<19}  {:<24}  {:>9}  {:<reason_width$}  {}",
            d.sequence,
            d.dead_at.format("%Y-%m-%d %H:%M:%S"),
            clip(&d.letter.subject, 24),
            d.letter.delivery_count,
            clip(&d.letter.reason, reason_width),
            body
        );
    }
    out
}

/// How wide stdout's lines may be: `COLUMNS` when set, else the terminal's width when stdout is
/// a terminal; `None` (no limit) when it is a pipe or a file, whose reader wants it whole.
pub fn line_width() -> Option<usize> {
    use std::io::IsTerminal as _;
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    if columns.is_some() {
        return columns;
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_columns()
}

#[cfg(unix)]
fn terminal_columns() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize it is given, which outlives the call.
    let asked = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (asked == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn terminal_columns() -> Option<usize> {
    None
}

/// `text` cut to `width` characters, an ellipsis marking the cut.
pub(super) fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(width - 1).collect::<String>())
    }
}
