//! Candidates first: the reader of `ktstr-llm-candidates` finds the text's
//! numbers and resolves each hint; the model only chooses among contenders
//! the reader could not separate. Values always come from the text.

use std::time::Instant;

use ktstr_llm_candidates::{metric_names, read, resolve, Candidate, Resolution};

use crate::choose::choose;
use crate::{Extraction, LlmError, Model};

/// Extracts the metrics named by `hints` from `text` (or, without hints,
/// every measurement the reader finds, named from its labels).
///
/// Each hint resolves in one of four ways: the reader finds exactly one
/// candidate (taken); several candidates fit equally (none taken, a detail
/// names them); none fits fully, so the model chooses among the closest or
/// declines (a detail says so); or no number is labelled like it (a detail).
/// Details go to [`Extraction::rejected`]; the model never writes a number.
///
/// # Errors
///
/// [`LlmError::InvalidHint`] for a hint with quotes, backslashes or control
/// characters; the other variants when llama.cpp fails while choosing.
pub fn extract(model: &Model, text: &str, hints: &[String]) -> Result<Extraction, LlmError> {
    let start = Instant::now();
    let candidates = read(text);
    let mut out = Extraction {
        metrics: Vec::new(),
        rejected: Vec::new(),
        raw_json: String::new(),
        chosen_by_model: 0,
        tokens: 0,
        prompt_tokens: 0,
        truncated: false,
        elapsed: Default::default(),
    };
    if hints.is_empty() {
        for (id, name) in metric_names(&candidates) {
            out.metrics.push((name, candidates[id].value));
        }
        out.elapsed = start.elapsed();
        return Ok(out);
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut how = Vec::new();
    for hint in hints {
        crate::grammar::check_hint(hint)?;
        match resolve(hint, &candidates) {
            Resolution::Found(c) => {
                how.push(format!("{hint}: read {}", describe(&candidates[c])));
                out.metrics.push((hint.clone(), candidates[c].value));
            }
            Resolution::Ambiguous(ids) => {
                how.push(format!("{hint}: ambiguous"));
                out.rejected.push(format!(
                    "hint `{hint}` is ambiguous: {} fit it equally; name the one meant (e.g. with its row or section)",
                    list(&candidates, &ids)
                ));
            }
            Resolution::Open(ids) => {
                let contenders: Vec<&Candidate> = ids.iter().map(|&i| &candidates[i]).collect();
                match choose(model, hint, &contenders, &lines)? {
                    Some(k) => {
                        out.chosen_by_model += 1;
                        how.push(format!("{hint}: model chose {}", describe(contenders[k])));
                        out.metrics.push((hint.clone(), contenders[k].value));
                    }
                    None => {
                        how.push(format!("{hint}: model chose none"));
                        out.rejected.push(format!(
                            "hint `{hint}` matches no number in the output: the closest were {}, and the model chose none of them",
                            list(&candidates, &ids)
                        ));
                    }
                }
            }
            Resolution::NoCandidate => {
                how.push(format!("{hint}: no candidate"));
                out.rejected.push(format!(
                    "hint `{hint}` matches no number in the output: no label says what it says (or the ones close to it say otherwise)"
                ));
            }
        }
    }
    out.raw_json = how.join("\n");
    out.elapsed = start.elapsed();
    Ok(out)
}

fn describe(c: &Candidate) -> String {
    let unit = c
        .unit
        .as_deref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    format!(
        "`{}` = {}{unit} (line {})",
        c.label_text(),
        c.written,
        c.line
    )
}

fn list(candidates: &[Candidate], ids: &[usize]) -> String {
    ids.iter()
        .map(|&i| describe(&candidates[i]))
        .collect::<Vec<_>>()
        .join(", ")
}
