//! Splits one line into words, numbers and punctuation, keeping byte columns
//! (tables are read by alignment).

/// One token of a line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    /// The token as written.
    pub(crate) text: String,
    /// Byte columns `[start, end)` in the line.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Digits with optional fraction and exponent; `suffix` letters that
    /// follow without a space are a separate `Word` token with `glued`.
    Number,
    /// Letters, digits, `_`, `/`, `%`, `.`, `-` runs that start with a letter or `%`.
    Word,
    /// Any other single character (`:`, `=`, `,`, `(`, ...).
    Punct,
}

impl Token {
    pub(crate) fn is(&self, kind: TokenKind) -> bool {
        self.kind == kind
    }

    pub(crate) fn punct(&self, c: char) -> bool {
        self.kind == TokenKind::Punct && self.text.starts_with(c)
    }
}

/// The tokens of `line`.
pub(crate) fn tokens(line: &str) -> Vec<Token> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let kind = if b.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if b.is_ascii_digit() || (b == b'.' && digit_at(bytes, i + 1)) {
            i = number_end(bytes, i);
            if bytes.get(i) == Some(&b'.') && digit_at(bytes, i + 1) {
                // `1.0.20`: a version, not a measurement.
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                TokenKind::Word
            } else if ordinal_at(bytes, i) {
                // `95th`, `99.50th`: a percentile's name.
                i += 2;
                TokenKind::Word
            } else {
                TokenKind::Number
            }
        } else if b.is_ascii_alphabetic() || b == b'%' || b == b'_' || b >= 0x80 {
            i += 1;
            while i < bytes.len() && word_byte(bytes[i], bytes.get(i + 1).copied()) {
                i += 1;
            }
            TokenKind::Word
        } else {
            i += 1;
            while i < bytes.len() && !line.is_char_boundary(i) {
                i += 1;
            }
            TokenKind::Punct
        };
        out.push(Token {
            kind,
            text: line[start..i].to_owned(),
            start,
            end: i,
        });
    }
    out
}

/// Bytes that continue a word: `KiB/s`, `bogo_ops`, `x86-64`, `ops/sec`,
/// `cpu0` (digits inside words), but not a trailing `/` or `-`.
fn word_byte(b: u8, next: Option<u8>) -> bool {
    b.is_ascii_alphanumeric()
        || b == b'_'
        || b == b'%'
        || b >= 0x80
        || (matches!(b, b'/' | b'\'') && next.is_some_and(|n| n.is_ascii_alphabetic()))
        || (b == b'-' && next.is_some_and(|n| n.is_ascii_alphanumeric()))
}

/// `th`, `st`, `nd`, `rd` at `i`, not followed by a letter.
fn ordinal_at(bytes: &[u8], i: usize) -> bool {
    let two = bytes.get(i..i + 2);
    matches!(two, Some(b"th" | b"st" | b"nd" | b"rd"))
        && !bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic)
}

fn digit_at(bytes: &[u8], i: usize) -> bool {
    bytes.get(i).is_some_and(u8::is_ascii_digit)
}

fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while digit_at(bytes, i) {
        i += 1;
    }
    if bytes.get(i) == Some(&b'.') && digit_at(bytes, i + 1) {
        i += 1;
        while digit_at(bytes, i) {
            i += 1;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        if digit_at(bytes, i + 1 + sign) {
            i += 1 + sign;
            while digit_at(bytes, i) {
                i += 1;
            }
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str) -> Vec<(TokenKind, String)> {
        tokens(line).into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn numbers_glued_units_and_punctuation() {
        use TokenKind::*;
        assert_eq!(
            kinds("BW=361KiB/s (2.0030s) 1.5e-3"),
            vec![
                (Word, "BW".into()),
                (Punct, "=".into()),
                (Number, "361".into()),
                (Word, "KiB/s".into()),
                (Punct, "(".into()),
                (Number, "2.0030".into()),
                (Word, "s".into()),
                (Punct, ")".into()),
                (Number, "1.5e-3".into()),
            ]
        );
        let t = tokens("T: 0 ( 9168)");
        assert_eq!((t[2].start, t[2].end), (3, 4));
        assert!(tokens("x 5 µs").iter().any(|t| t.text == "µs"));
    }
}
