//! The rule that keeps the model from inventing numbers.
//!
//! A value the model returns is kept only if it is one of the numbers written
//! in the source text. The text is scanned for number tokens:
//!
//! - digits with an optional fraction and exponent (`42`, `0.123`, `.5`,
//!   `1.5e-3`), read wherever they stand (`p99=870us` gives 99 and 870);
//! - a `-` right before a number also gives its negative (`-3` gives 3 and -3);
//! - digit groups with thousands commas also give the joined value
//!   (`1,234,567.5` gives 1234567.5 besides 1, 234 and 567.5).
//!
//! A model value matches a token when the two are equal within a relative
//! difference of [`REL_TOLERANCE`] (so `0.1230` matches `0.123` and `1e3`
//! matches `1000`). No unit conversion is accepted: `1.5 ms` in the text does
//! not admit `1500`, because the model is told to copy numbers, not convert
//! them, and every admitted scaling would let more wrong values through.

/// Largest relative difference between a model value and a number in the text
/// that still counts as equal.
pub(crate) const REL_TOLERANCE: f64 = 1e-9;

/// The numbers written in a text, per the module's rule, each with a JSON
/// spelling of it (as written when that is valid JSON).
#[derive(Debug, Default)]
pub(crate) struct SourceNumbers(Vec<(f64, String)>);

impl SourceNumbers {
    /// Scans `text` for number tokens.
    pub(crate) fn scan(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let starts = bytes[i].is_ascii_digit()
                || (bytes[i] == b'.' && digit_at(bytes, i + 1) && !digit_before(bytes, i));
            if !starts {
                i += 1;
                continue;
            }
            let end = number_end(bytes, i);
            push(&mut found, &text[i..end], i > 0 && bytes[i - 1] == b'-');
            if let Some(grouped_end) = grouped_end(bytes, i) {
                let joined: String = text[i..grouped_end].chars().filter(|&c| c != ',').collect();
                push(&mut found, &joined, i > 0 && bytes[i - 1] == b'-');
            }
            i = end;
        }
        Self(found)
    }

    /// Whether `value` equals one of the numbers (see [`REL_TOLERANCE`]).
    pub(crate) fn contains(&self, value: f64) -> bool {
        self.0.iter().any(|&(s, _)| {
            s == value || (s - value).abs() <= REL_TOLERANCE * s.abs().max(value.abs())
        })
    }

    /// The distinct JSON spellings of the numbers, in text order.
    pub(crate) fn literals(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.0
            .iter()
            .map(|(_, lit)| lit.as_str())
            .filter(|lit| seen.insert(*lit))
            .collect()
    }
}

fn push(found: &mut Vec<(f64, String)>, token: &str, negative: bool) {
    let Ok(v) = token.parse::<f64>() else { return };
    if !v.is_finite() {
        return;
    }
    // JSON has no leading `.` and no leading zeros; re-spell those.
    let bytes = token.as_bytes();
    let json_ok = bytes[0] != b'.' && !(bytes[0] == b'0' && digit_at(bytes, 1));
    let literal = if json_ok {
        token.to_owned()
    } else {
        v.to_string()
    };
    if negative {
        found.push((-v, format!("-{literal}")));
    }
    found.push((v, literal));
}

fn digit_at(bytes: &[u8], i: usize) -> bool {
    bytes.get(i).is_some_and(u8::is_ascii_digit)
}

fn digit_before(bytes: &[u8], i: usize) -> bool {
    i > 0 && bytes[i - 1].is_ascii_digit()
}

fn digits_end(bytes: &[u8], mut i: usize) -> usize {
    while digit_at(bytes, i) {
        i += 1;
    }
    i
}

/// End of the number token starting at `start`: digits, `.digits`, exponent.
fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = digits_end(bytes, start);
    if bytes.get(i) == Some(&b'.') && digit_at(bytes, i + 1) {
        i = digits_end(bytes, i + 1);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        if digit_at(bytes, i + 1 + sign) {
            i = digits_end(bytes, i + 1 + sign);
        }
    }
    i
}

/// End of a thousands-grouped number (`1,234` or `12,345,678.9`) starting at
/// `start`, if one starts there.
fn grouped_end(bytes: &[u8], start: usize) -> Option<usize> {
    let lead = digits_end(bytes, start);
    if !(1..=3).contains(&(lead - start)) {
        return None;
    }
    let mut i = lead;
    let mut groups = 0;
    while bytes.get(i) == Some(&b',') && digits_end(bytes, i + 1) == i + 4 {
        i += 4;
        groups += 1;
    }
    if groups == 0 {
        return None;
    }
    if bytes.get(i) == Some(&b'.') && digit_at(bytes, i + 1) {
        i = digits_end(bytes, i + 1);
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(text: &str, v: f64) -> bool {
        SourceNumbers::scan(text).contains(v)
    }

    #[test]
    fn reads_numbers_as_written() {
        let text = "Time: 0.123\nlat p99=870us avg .5 rate 1.5e-3/s 400 tasks";
        for v in [0.123, 99.0, 870.0, 0.5, 1.5e-3, 400.0] {
            assert!(has(text, v), "{v} should occur");
        }
        for v in [123.0, 0.87, 1.5, 1500.0, 4.0] {
            assert!(!has(text, v), "{v} should not occur");
        }
    }

    #[test]
    fn equal_values_written_differently_match() {
        assert!(has("took 0.1230 s", 0.123));
        assert!(has("1000 ops", 1e3));
        assert!(has("x 3", 3.0 + 1e-12));
        assert!(!has("x 3", 3.0001));
    }

    #[test]
    fn minus_sign_gives_the_negative_too() {
        assert!(has("offset -3 ns", -3.0));
        assert!(has("offset -3 ns", 3.0));
        assert!(!has("offset 3 ns", -3.0));
    }

    #[test]
    fn thousands_groups_give_the_joined_value() {
        let text = "ops: 1,234,567.5 total, list 1,23";
        assert!(has(text, 1_234_567.5));
        assert!(has(text, 234.0));
        assert!(!has(text, 123.0), "`1,23` is not a thousands group");
    }

    #[test]
    fn literals_are_distinct_json_spellings_in_text_order() {
        let found = SourceNumbers::scan("a 10.00 b .5 c 007 d -3 e 10.00 f 1,234");
        assert_eq!(
            found.literals(),
            ["10.00", "0.5", "7", "-3", "3", "1", "1234", "234"]
        );
    }

    #[test]
    fn no_unit_scaling() {
        assert!(!has("latency 1.5 ms", 1500.0));
        assert!(!has("latency 1500 us", 1.5));
    }
}
