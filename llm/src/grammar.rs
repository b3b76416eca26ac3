//! The GBNF grammar that constrains decoding to a JSON object of numbers.
//!
//! With metric hints the object has exactly those keys, in the given order,
//! each once, and each value is a number or `null` (the model's way to say the
//! metric is not in the text). Without hints the keys are free identifiers, at
//! most [`MAX_FREE_KEYS`] of them.
//!
//! A value can only be one of the numbers written in the source text (given
//! as their JSON spellings), so the model chooses among them rather than
//! writing digits; texts with more than [`MAX_LITERALS`] distinct numbers fall
//! back to any JSON number with bounded digit counts. Either way the output
//! ends within a known token budget, and the values are validated after.

use crate::LlmError;

/// Most key/value pairs the model may write when no hints are given.
pub(crate) const MAX_FREE_KEYS: usize = 8;

/// Most distinct numbers offered as literal alternatives: each one costs the
/// grammar sampler time at every step.
pub(crate) const MAX_LITERALS: usize = 256;

/// Any JSON number, for texts with too many numbers to list.
const ANY_NUMBER: &str =
    r#""-"? ("0" | [1-9] [0-9]{0,14}) ("." [0-9]{1,12})? ([eE] [-+]? [0-9]{1,3})?"#;

/// The grammar for `hints` (exact keys) or, when empty, for free keys, with
/// values drawn from `numbers` (JSON number spellings).
///
/// # Errors
///
/// [`LlmError::InvalidHint`] for a hint that cannot be a plain JSON key.
pub(crate) fn build(hints: &[String], numbers: &[&str]) -> Result<String, LlmError> {
    let root = if hints.is_empty() {
        format!(
            "root ::= \"{{\" ws (pair (\",\" ws pair){{0,{}}})? ws \"}}\"\n\
             pair ::= key ws \":\" ws value\n\
             key ::= \"\\\"\" [a-zA-Z_] [a-zA-Z0-9_.]{{0,47}} \"\\\"\"\n",
            MAX_FREE_KEYS - 1
        )
    } else {
        let mut pairs = Vec::with_capacity(hints.len());
        for hint in hints {
            check_hint(hint)?;
            pairs.push(format!("\"\\\"{hint}\\\"\" ws \":\" ws value"));
        }
        format!(
            "root ::= \"{{\" ws {} ws \"}}\"\n",
            pairs.join(" \",\" ws ")
        )
    };
    let value = match numbers.len() {
        0 => "value ::= \"null\"\n".to_owned(),
        n if n > MAX_LITERALS => format!("value ::= {ANY_NUMBER} | \"null\"\n"),
        _ => {
            let quoted: Vec<String> = numbers.iter().map(|n| format!("\"{n}\"")).collect();
            format!("value ::= {} | \"null\"\n", quoted.join(" | "))
        }
    };
    // `ws` is at most one space: compact JSON, and no padding forever.
    Ok(root + &value + "ws ::= \" \"?\n")
}

/// Rejects hints that would need escaping in JSON or GBNF.
pub(crate) fn check_hint(hint: &str) -> Result<(), LlmError> {
    if hint.is_empty()
        || hint
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control())
    {
        return Err(LlmError::InvalidHint(hint.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_become_exact_keys_in_order() {
        let g = build(&["p50".into(), "p99".into()], &["12", "0.5"]).unwrap();
        let root = g.lines().next().unwrap();
        assert_eq!(
            root,
            r#"root ::= "{" ws "\"p50\"" ws ":" ws value "," ws "\"p99\"" ws ":" ws value ws "}""#
        );
        assert!(g.contains(r#"value ::= "12" | "0.5" | "null""#), "{g}");
    }

    #[test]
    fn values_are_null_only_without_numbers_and_any_number_past_the_cap() {
        assert!(build(&[], &[]).unwrap().contains("value ::= \"null\"\n"));
        let many: Vec<String> = (0..=MAX_LITERALS).map(|n| n.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(build(&[], &many).unwrap().contains(ANY_NUMBER));
    }

    #[test]
    fn no_hints_allow_bounded_free_keys() {
        let g = build(&[], &["1"]).unwrap();
        assert!(g.starts_with(r#"root ::= "{" ws (pair ("," ws pair){0,7})? ws "}""#));
        assert!(g.contains("key ::="));
    }

    #[test]
    fn hints_that_need_escaping_are_refused() {
        for bad in ["", "a\"b", "a\\b", "a\nb"] {
            assert!(
                matches!(build(&[bad.into()], &[]), Err(LlmError::InvalidHint(_))),
                "{bad:?}"
            );
        }
        assert!(build(&["lat.p99 (us)".into()], &[]).is_ok());
    }
}
