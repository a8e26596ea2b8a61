//! Printing help and usage errors as clap does, except that lines meant to be copied (a cron
//! line) stay whole: clap wraps help at the terminal's width, and a cron line wrapped in two
//! breaks the crontab it is pasted into.

/// Lines the help shows that must be printed on one line, however wide.
const VERBATIM: &[&str] = &[crate::sync::NIGHTLY_CRON_LINE];

/// Prints what the parse of the command line ended with (help, a version, a usage error) and
/// exits with clap's code.
pub fn exit_with(error: clap::Error) -> ! {
    let help = matches!(
        error.kind(),
        clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    let text = error.render().to_string();
    if help
        && VERBATIM
            .iter()
            .any(|line| wrapped_at(&text, line).is_some())
    {
        let mut text = text;
        for line in VERBATIM {
            text = unwrapped(&text, line);
        }
        print!("{text}");
        std::process::exit(error.exit_code());
    }
    error.exit()
}

/// `text` with `line` made whole again where clap wrapped it (a space it replaced with a line
/// break and indentation).
fn unwrapped(text: &str, line: &str) -> String {
    match wrapped_at(text, line) {
        Some(range) => format!("{}{line}{}", &text[..range.start], &text[range.end..]),
        None => text.to_string(),
    }
}

/// Where `line` is in `text`, wrapped or not: its byte range.
fn wrapped_at(text: &str, line: &str) -> Option<std::ops::Range<usize>> {
    let first_word = line.split(' ').next().filter(|word| !word.is_empty())?;
    text.match_indices(first_word).find_map(|(start, _)| {
        let (mut at, mut expected) = (start, line);
        while let Some(next) = expected.chars().next() {
            let rest = &text[at..];
            if rest.starts_with(next) {
                at += next.len_utf8();
            } else if next == ' ' && rest.starts_with('\n') {
                at += rest.len() - rest[1..].trim_start_matches(' ').len();
            } else {
                return None;
            }
            expected = &expected[next.len_utf8()..];
        }
        Some(start..at)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_line_is_made_whole_and_the_rest_left_as_it_was() {
        let line = "0 2 * * * csm sync a b --state c";
        let text = "Before\n  0 2 * * * csm sync a\n  b --state c\n\nAfter words\n";
        assert_eq!(
            unwrapped(text, line),
            "Before\n  0 2 * * * csm sync a b --state c\n\nAfter words\n"
        );
        let whole = "x\n  0 2 * * * csm sync a b --state c\n";
        assert_eq!(unwrapped(whole, line), whole);
        assert_eq!(
            unwrapped("0 2 * * * csm other\n", line),
            "0 2 * * * csm other\n"
        );
    }
}
