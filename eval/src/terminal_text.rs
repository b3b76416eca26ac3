//! Text from the guest made safe to print: no terminal escape sequences and no
//! control characters, so a scheduler's coloured output cannot recolour,
//! retitle or rewrite the report's own lines.

/// ESC, which starts every 7-bit escape sequence.
const ESC: char = '\u{1b}';
/// BEL, one terminator of an OSC string.
const BEL: char = '\u{7}';

/// `text` without ANSI/VT escape sequences (CSI `ESC [ … final`, OSC
/// `ESC ] … BEL` or `… ESC \`, the DCS, SOS, PM and APC strings, other
/// `ESC x` sequences and their 8-bit C1 forms) and without any other control
/// character except newline and tab.
///
/// An unterminated string sequence runs to the end of the text, as it would
/// on a terminal.
pub(crate) fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // nF sequences (`ESC ( B`): intermediates, then one final byte.
                Some(' '..='/') => {
                    while chars.next_if(|c| matches!(c, ' '..='/')).is_some() {}
                    chars.next_if(|c| matches!(c, '0'..='~'));
                }
                // Two-character sequences (`ESC 7`, `ESC c`, `ESC M`); a bare
                // ESC before anything else is dropped alone.
                Some(next) if !matches!(next, '0'..='~') => {
                    push_plain(&mut out, next);
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c => push_plain(&mut out, c),
        }
    }
    out
}

/// Keeps `c` unless it is a control character other than newline and tab.
fn push_plain(out: &mut String, c: char) {
    if !c.is_control() || c == '\n' || c == '\t' {
        out.push(c);
    }
}

/// Skips a CSI sequence's parameter and intermediate bytes and its final
/// byte; stops early, keeping the character, at anything that cannot be part
/// of one (a malformed sequence must not swallow the text after it).
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars
        .next_if(|c| matches!(c, '0'..='?' | ' '..='/'))
        .is_some()
    {}
    chars.next_if(|c| matches!(c, '@'..='~'));
}

/// Skips a control string up to and including its terminator: BEL, ST
/// (`ESC \` or U+009C), or the end of the text.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            BEL | '\u{9c}' => return,
            ESC => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_cursor_moves_are_removed() {
        assert_eq!(
            strip_escapes("\u{1b}[1;31mEXIT\u{1b}[0m: runtime error"),
            "EXIT: runtime error"
        );
        assert_eq!(strip_escapes("a\u{1b}[2Kb\u{1b}[?25lc"), "abc");
        assert_eq!(strip_escapes("\u{1b}[38;5;196mred"), "red");
    }

    #[test]
    fn osc_strings_are_removed_with_either_terminator() {
        assert_eq!(strip_escapes("\u{1b}]0;pwned\u{7}title"), "title");
        assert_eq!(
            strip_escapes("\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\"),
            "link"
        );
        assert_eq!(strip_escapes("ok\u{1b}]0;never ends"), "ok");
        assert_eq!(strip_escapes("\u{1b}P1$r\u{1b}\\after"), "after");
    }

    #[test]
    fn other_escapes_and_c1_forms_are_removed() {
        assert_eq!(strip_escapes("\u{1b}7saved\u{1b}8"), "saved");
        assert_eq!(strip_escapes("\u{1b}(Bascii"), "ascii");
        assert_eq!(strip_escapes("\u{9b}31mc1\u{9d}0;t\u{9c}!"), "c1!");
        assert_eq!(strip_escapes("trailing\u{1b}"), "trailing");
    }

    #[test]
    fn control_characters_go_but_newline_tab_and_unicode_stay() {
        assert_eq!(
            strip_escapes("a\rb\u{8}c\u{0}d\u{7f}e\tf\ng µs"),
            "abcde\tf\ng µs"
        );
        assert_eq!(strip_escapes("plain text"), "plain text");
    }

    #[test]
    fn a_malformed_csi_keeps_the_text_after_it() {
        assert_eq!(strip_escapes("\u{1b}[12\u{e9}t\u{e9}"), "\u{e9}t\u{e9}");
    }
}
