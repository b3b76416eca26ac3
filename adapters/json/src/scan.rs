//! Finding the first JSON document inside mixed text.
//!
//! Candidates start at `{` or `[`. A scan from a candidate tracks strings and escapes, so
//! brackets inside strings do not count, and records every balanced bracket pair it closes.
//! Brackets outside strings in that scan are settled by it (a scan starting there would see
//! the same thing), so only brackets that sat inside a string are scanned again. Parse
//! attempts and scans share a budget linear in the input, which bounds the work on
//! adversarial text.

use std::ops::Range;

use serde_json::Value;

/// Scanning and parsing may touch this many bytes per input byte (plus a constant).
const BUDGET_PER_BYTE: usize = 16;
const BUDGET_BASE: usize = 1 << 16;

/// The outcome of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Search<T = Value> {
    /// The first document found: its byte range in the text, and what it parsed to.
    pub document: Option<(Range<usize>, T)>,
    /// The budget ran out before the whole text was searched.
    pub gave_up: bool,
}

/// Finds the whole text as a JSON object or array, else the first embedded document.
///
/// Embedded, a document must be an object, or an array holding at least one object or array:
/// a bare list of numbers such as the `[    1.234567]` of a kernel log line is not one.
pub fn find_document(text: &str) -> Search {
    search(text, |candidate, embedded| {
        match serde_json::from_str::<Value>(candidate).ok()? {
            v @ Value::Object(_) => Some(v),
            Value::Array(items)
                if !embedded || items.iter().any(|i| i.is_object() || i.is_array()) =>
            {
                Some(Value::Array(items))
            }
            _ => None,
        }
    })
}

/// Tries `parse(text, false)` on the whole text, then `parse(candidate, true)` on each
/// balanced candidate in order; the first `Some` is the document.
pub(crate) fn search<T>(text: &str, mut parse: impl FnMut(&str, bool) -> Option<T>) -> Search<T> {
    if let Some(found) = parse(text, false) {
        let start = text.len() - text.trim_start().len();
        let end = text.trim_end().len().max(start);
        return Search {
            document: Some((start..end, found)),
            gave_up: false,
        };
    }
    let bytes = text.as_bytes();
    let mut settled = vec![false; bytes.len()];
    let mut budget = BUDGET_BASE.saturating_add(bytes.len().saturating_mul(BUDGET_PER_BYTE));
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(offset) = bytes[from..].iter().position(|&b| b == b'{' || b == b'[') {
        let start = from + offset;
        from = start + 1;
        if settled[start] {
            continue;
        }
        spans.clear();
        budget = budget.saturating_sub(scan_from(bytes, start, &mut settled, &mut spans));
        spans.sort_unstable_by_key(|s| s.start);
        for span in spans.drain(..) {
            if budget == 0 {
                break;
            }
            budget = budget.saturating_sub(span.len());
            if let Some(found) = parse(&text[span.clone()], true) {
                return Search {
                    document: Some((span, found)),
                    gave_up: false,
                };
            }
        }
        if budget == 0 {
            return Search {
                document: None,
                gave_up: true,
            };
        }
    }
    Search {
        document: None,
        gave_up: false,
    }
}

/// Scans from the bracket at `start` until its pair closes, a bracket mismatches, or the text
/// ends. Pushes every balanced pair's byte range to `spans`, marks every bracket opened
/// outside a string as settled, and returns the number of bytes scanned.
fn scan_from(
    bytes: &[u8],
    start: usize,
    settled: &mut [bool],
    spans: &mut Vec<Range<usize>>,
) -> usize {
    let mut stack: Vec<(u8, usize)> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (pos, &b) in bytes.iter().enumerate().skip(start) {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                settled[pos] = true;
                stack.push((if b == b'{' { b'}' } else { b']' }, pos));
            }
            b'}' | b']' => match stack.pop() {
                Some((close, open)) if close == b => {
                    spans.push(open..pos + 1);
                    if stack.is_empty() {
                        return pos + 1 - start;
                    }
                }
                _ => return pos + 1 - start,
            },
            _ => {}
        }
    }
    bytes.len() - start
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(text: &str) -> Option<(Range<usize>, Value)> {
        find_document(text).document
    }

    #[test]
    fn whole_output_is_a_document() {
        let (range, value) = found("  {\"a\": 1}\n").unwrap();
        assert_eq!((range, value), (2..10, json!({"a": 1})));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = r#"log: {"msg": "a } and \" { [", "n": 2} trailing"#;
        assert_eq!(
            found(text).unwrap().1,
            json!({"msg": "a } and \" { [", "n": 2})
        );
    }

    #[test]
    fn invalid_outer_candidate_falls_back_to_inner_document() {
        let text = r#"{not json {"a": {"b": 3}} still not}"#;
        assert_eq!(found(text).unwrap().1, json!({"a": {"b": 3}}));
    }

    #[test]
    fn a_quote_in_prose_before_the_document_does_not_hide_it() {
        let text = r#"say "{" then {"a": 1}"#;
        assert_eq!(found(text).unwrap().1, json!({"a": 1}));
    }

    #[test]
    fn kernel_log_timestamps_are_not_documents() {
        let text = "[    1.234567] booting\n[    2.000000] done\n";
        assert_eq!(found(text), None);
        let text = "[    1.234567] booting\n[{\"x\": 1}]\n";
        assert_eq!(found(text).unwrap().1, json!([{"x": 1}]));
    }

    #[test]
    fn mismatched_brackets_are_skipped() {
        assert_eq!(found(r#"{ ] {"ok": true}"#).unwrap().1, json!({"ok": true}));
    }

    #[test]
    fn unbalanced_openers_are_bounded_and_terminate() {
        let text = "[".repeat(200_000) + "{\"a\": 1}";
        let search = find_document(&text);
        assert_eq!(search.document.map(|d| d.1), Some(json!({"a": 1})));
        let text = "{\"".repeat(100_000);
        assert_eq!(find_document(&text).document, None);
    }
}
