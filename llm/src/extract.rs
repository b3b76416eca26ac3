//! The model-only extraction: prompt the model with the whole text, decode
//! greedily under the grammar, parse the JSON, and keep only values that
//! occur in the text. [`crate::extract`] reads candidates first and uses the
//! model only to choose; this path stays for comparison (the accuracy
//! benchmark reports both).

use std::fmt;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::{LlamaStateSeqFlags, SeqState};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use crate::numbers::SourceNumbers;
use crate::{grammar, model, LlmError, Model};

/// Most tokens of source text shown to the model. Longer texts keep their
/// end (benchmarks print their summary last); validation still uses all of it.
pub const MAX_TEXT_TOKENS: usize = 2048;

/// Token budget for the answer when no hints bound its size.
const MAX_FREE_ANSWER_TOKENS: usize = 512;

/// Stands for the source text while the chat template is applied, so the text
/// can be tokenized on its own with special tokens disabled: an output that
/// contains `<|im_end|>` stays plain text.
const TEXT_MARK: &str = "\u{2045}KTSTR_SOURCE_TEXT\u{2046}";

/// What one extraction found.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    /// Metrics whose values occur in the source text, in the model's order.
    pub metrics: Vec<(String, f64)>,
    /// One detail per value that does not occur in the text (and was dropped).
    pub rejected: Vec<String>,
    /// The JSON object the model wrote (model-only), or one `hint: how`
    /// line per hint (candidates first).
    pub raw_json: String,
    /// Hints the model resolved by choosing among the reader's contenders.
    pub chosen_by_model: usize,
    /// Tokens the model generated.
    pub tokens: usize,
    /// Tokens in the prompt (template, instruction and text).
    pub prompt_tokens: usize,
    /// Whether the front of the text was cut to fit [`MAX_TEXT_TOKENS`].
    pub truncated: bool,
    /// Wall time of the whole extraction, prompt evaluation included.
    pub elapsed: Duration,
}

/// Extracts metrics from `text` with `model`: greedy decoding on one thread,
/// constrained to a JSON object whose keys are exactly `hints` or, without
/// hints, free names, and whose values are numbers written in the text (any
/// number past 256 distinct ones) or `null`, meaning absent. Every value is
/// then checked against `text` (see the crate docs for the rule); values that
/// do not occur are listed in [`Extraction::rejected`] and dropped.
///
/// # Errors
///
/// [`LlmError::InvalidHint`] for a hint that cannot be a JSON key; the other
/// variants when llama.cpp fails or the answer does not complete.
pub fn extract_model_only(
    model: &Model,
    text: &str,
    hints: &[String],
) -> Result<Extraction, LlmError> {
    let start = Instant::now();
    let vocab = model.llama.vocab();

    let (prefix, suffix) = prompt_around_text(model, hints)?;
    let (shown, truncated) = fit_text(&model.llama, text);
    let grammar = grammar::build(hints, &SourceNumbers::scan(shown).literals())?;
    let mut prompt = vocab.tokenize(prefix.as_bytes(), true, true);
    let prefix_len = prompt.len();
    prompt.extend(vocab.tokenize(shown.as_bytes(), false, false));
    prompt.extend(vocab.tokenize(suffix.as_bytes(), false, true));

    let max_answer = if hints.is_empty() {
        MAX_FREE_ANSWER_TOKENS
    } else {
        8 + hints.iter().map(|h| h.len() + 40).sum::<usize>()
    };
    let n_ctx = (prompt.len() + max_answer).next_multiple_of(64);
    let mut ctx = new_context(model, n_ctx)?;

    let mut batch = LlamaBatch::new(n_ctx, 1);
    let cached = load_prefix(model, &mut ctx, &mut batch, &prompt[..prefix_len])?;
    batch.clear();
    let last = prompt.len() - 1;
    for (i, &token) in prompt.iter().enumerate().skip(cached) {
        add(&mut batch, token, i, i == last)?;
    }
    ctx.decode(&mut batch)
        .map_err(|e| LlmError::Decode(e.to_string()))?;

    let grammar = LlamaSampler::grammar(&model.llama, &grammar, "root")
        .map_err(|e| LlmError::Grammar(e.to_string()))?;
    let mut sampler = LlamaSampler::chain_simple([grammar, LlamaSampler::greedy()]);
    let mut answer = Vec::new();
    let mut tokens = 0;
    let pairs = loop {
        if tokens == max_answer {
            return Err(LlmError::Incomplete {
                max_tokens: max_answer,
                raw: String::from_utf8_lossy(&answer).into_owned(),
            });
        }
        let token = sampler.sample(&ctx, batch.n_tokens() - 1);
        tokens += 1;
        let piece = vocab.token_to_piece(token, false, None);
        answer.extend_from_slice(&piece);
        // The grammar ends at the object's closing brace, so a parse that
        // succeeds means the answer is complete: no need to decode the end token.
        if vocab.is_eog(token) || piece.contains(&b'}') {
            if let Ok(pairs) = serde_json::from_slice::<Pairs>(&answer) {
                break pairs;
            }
            if vocab.is_eog(token) {
                return Err(bad_json(&answer, "the model stopped early"));
            }
        }
        batch.clear();
        add(&mut batch, token, prompt.len() + tokens - 1, true)?;
        ctx.decode(&mut batch)
            .map_err(|e| LlmError::Decode(e.to_string()))?;
    };

    let raw_json = String::from_utf8_lossy(&answer).into_owned();
    let (metrics, rejected) = validate(pairs, &SourceNumbers::scan(text));
    Ok(Extraction {
        metrics,
        rejected,
        raw_json,
        chosen_by_model: 0,
        tokens,
        prompt_tokens: prompt.len(),
        truncated,
        elapsed: start.elapsed(),
    })
}

/// A one-thread inference context of `n_ctx` tokens (one batch holds them
/// all). Contexts are created under the model's lock: llama.cpp's context
/// setup is not safe to run concurrently on one model.
pub(crate) fn new_context(model: &Model, n_ctx: usize) -> Result<LlamaContext<'_>, LlmError> {
    let n_ctx_u32 = u32::try_from(n_ctx).map_err(|e| LlmError::Context(e.to_string()))?;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx_u32))
        .with_n_batch(n_ctx_u32)
        .with_n_threads(1)
        .with_n_threads_batch(1);
    let backend = model::backend().map_err(|e| LlmError::Context(e.to_string()))?;
    let _guard = model.context_lock.lock().unwrap_or_else(|p| p.into_inner());
    model
        .llama
        .new_context(backend, params)
        .map_err(|e| LlmError::Context(e.to_string()))
}

/// The KV cache of the prompt's beginning up to the source text (chat
/// template, system prompt): the same for every extraction, so it is
/// evaluated once per model and restored into later contexts.
pub(crate) struct PrefixState {
    tokens: Vec<LlamaToken>,
    state: SeqState,
}

/// Puts `prefix` into the cache of `ctx` (sequence 0, from position 0):
/// restored when an earlier extraction saved it, else decoded and saved.
/// Returns how many prompt tokens are now in the cache.
fn load_prefix(
    model: &Model,
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch,
    prefix: &[LlamaToken],
) -> Result<usize, LlmError> {
    if prefix.is_empty() {
        return Ok(0);
    }
    let mut saved = model.prefix.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(saved) = saved.as_ref().filter(|s| s.tokens == prefix) {
        if ctx.state_seq_set(&saved.state, 0).is_ok() {
            return Ok(prefix.len());
        }
        // A failed restore may leave part of the state behind: start clean.
        ctx.clear_kv_cache();
    }
    batch.clear();
    for (i, &token) in prefix.iter().enumerate() {
        add(batch, token, i, false)?;
    }
    ctx.decode(batch)
        .map_err(|e| LlmError::Decode(e.to_string()))?;
    // Not saving only costs the next extraction the same decode.
    if let Ok(state) = ctx.state_seq_get(0, LlamaStateSeqFlags::empty()) {
        *saved = Some(PrefixState {
            tokens: prefix.to_vec(),
            state,
        });
    }
    Ok(prefix.len())
}

/// Splits the model's pairs into values that occur in the text and one
/// rejection detail per value that does not; `null` values are absent.
fn validate(pairs: Pairs, source: &SourceNumbers) -> (Vec<(String, f64)>, Vec<String>) {
    let mut metrics = Vec::new();
    let mut rejected = Vec::new();
    for (name, value) in pairs.0 {
        match value {
            None => {}
            Some(v) if source.contains(v) => metrics.push((name, v)),
            Some(v) => rejected.push(format!(
                "model value `{name}`={v} does not occur in the output"
            )),
        }
    }
    (metrics, rejected)
}

pub(crate) fn add(
    batch: &mut LlamaBatch,
    token: LlamaToken,
    pos: usize,
    logits: bool,
) -> Result<(), LlmError> {
    let pos = i32::try_from(pos).map_err(|e| LlmError::Decode(e.to_string()))?;
    batch
        .add(token, pos, &[0], logits)
        .map_err(|e| LlmError::Decode(e.to_string()))
}

fn bad_json(answer: &[u8], reason: &str) -> LlmError {
    LlmError::BadJson {
        raw: String::from_utf8_lossy(answer).into_owned(),
        reason: reason.to_owned(),
    }
}

/// The rendered chat prompt split around where the source text goes.
fn prompt_around_text(model: &Model, hints: &[String]) -> Result<(String, String), LlmError> {
    let prompt_err = |e: &dyn fmt::Display| LlmError::Prompt(e.to_string());
    let ask = if hints.is_empty() {
        "Write a JSON object with each metric in the output: its label as the key and its \
         number copied exactly as written."
            .to_owned()
    } else {
        let keys: Vec<String> = hints.iter().map(|h| format!("\"{h}\"")).collect();
        format!(
            "Write a JSON object with the keys {}. Copy each number exactly as written in the \
             output. Write null for a key whose number is not in the output.",
            keys.join(", ")
        )
    };
    let user = format!("Program output:\n```\n{TEXT_MARK}\n```\n{ask}");
    let system =
        "You copy metrics from program output into JSON. You never compute or invent numbers.";
    let rendered = crate::choose::render(model, system, &user)?;
    let (prefix, suffix) = rendered
        .split_once(TEXT_MARK)
        .ok_or_else(|| prompt_err(&"the chat template dropped the text"))?;
    Ok((prefix.to_owned(), suffix.to_owned()))
}

/// `text`, with its front cut at line starts until it fits
/// [`MAX_TEXT_TOKENS`]; the flag says whether anything was cut.
fn fit_text<'a>(llama: &llama_cpp_2::model::LlamaModel, text: &'a str) -> (&'a str, bool) {
    let vocab = llama.vocab();
    let mut shown = text;
    loop {
        let n = vocab.tokenize(shown.as_bytes(), false, false).len();
        if n <= MAX_TEXT_TOKENS {
            return (shown, shown.len() < text.len());
        }
        // Drop a share of bytes proportional to the excess, plus a little.
        let mut cut = shown.len() * (n - MAX_TEXT_TOKENS) / n + 1;
        while !shown.is_char_boundary(cut) {
            cut += 1;
        }
        let rest = &shown[cut..];
        shown = match rest.find('\n') {
            Some(nl) if nl + 1 < rest.len() => &rest[nl + 1..],
            _ => rest,
        };
    }
}

/// The model's object as written: keys in order, duplicates kept, `null`
/// values as `None`.
struct Pairs(Vec<(String, Option<f64>)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, Option<f64>>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_keep_order_duplicates_and_nulls() {
        let p: Pairs = serde_json::from_str(r#"{"b": 2, "a": null, "b": 1.5e3}"#).unwrap();
        assert_eq!(
            p.0,
            vec![
                ("b".into(), Some(2.0)),
                ("a".into(), None),
                ("b".into(), Some(1500.0))
            ]
        );
        assert!(serde_json::from_str::<Pairs>(r#"{"a": 1"#).is_err());
    }

    #[test]
    fn values_not_in_the_text_are_rejected_by_name() {
        let pairs: Pairs =
            serde_json::from_str(r#"{"time": 0.1230, "x": 123.4, "gone": null}"#).unwrap();
        let (metrics, rejected) = validate(pairs, &SourceNumbers::scan("Time: 0.123 (4 runs)"));
        assert_eq!(metrics, vec![("time".to_owned(), 0.123)]);
        assert_eq!(
            rejected,
            vec!["model value `x`=123.4 does not occur in the output".to_owned()]
        );
    }
}
