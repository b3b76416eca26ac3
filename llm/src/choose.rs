//! The model as a chooser: when the reader leaves a hint open, the model
//! picks one of the contenders (shown with their labels and source lines)
//! or declines. Its answer is a letter under a grammar, so it can only
//! point at a number the reader found, never write one.

use ktstr_llm_candidates::Candidate;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate};
use llama_cpp_2::sampling::LlamaSampler;

use crate::extract::{add, new_context};
use crate::{LlmError, Model};

/// Letters naming contenders in the prompt and the grammar.
const LETTERS: &[u8] = b"ABCDEFGH";

/// Most answer tokens: a letter or `none`.
const MAX_ANSWER_TOKENS: usize = 4;

/// Asks the model which of `contenders` the metric `hint` is; `None` when it
/// answers that none is. `lines` are the text's lines (for context).
///
/// # Errors
///
/// When llama.cpp fails.
pub(crate) fn choose(
    model: &Model,
    hint: &str,
    contenders: &[&Candidate],
    lines: &[&str],
) -> Result<Option<usize>, LlmError> {
    let contenders = &contenders[..contenders.len().min(LETTERS.len())];
    if contenders.is_empty() {
        return Ok(None);
    }
    let mut listing = String::new();
    for (i, c) in contenders.iter().enumerate() {
        let unit = c
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        let line = lines.get(c.line - 1).map_or("", |l| l.trim());
        listing.push_str(&format!(
            "{}: {} = {}{unit}   (line: `{line}`)\n",
            LETTERS[i] as char,
            c.label_text(),
            c.written
        ));
    }
    let user = format!(
        "Numbers found in a program's output, with their labels:\n{listing}\nWhich one is the \
         metric `{hint}`? Answer with its letter, or none if no number above is that metric."
    );
    let system = "You match metric names to labelled numbers. You answer with one letter or none.";
    let prompt = render(model, system, &user)?;
    let vocab = model.llama.vocab();
    let tokens = vocab.tokenize(prompt.as_bytes(), true, true);
    let n_ctx = (tokens.len() + MAX_ANSWER_TOKENS + 8).next_multiple_of(64);
    let mut ctx = new_context(model, n_ctx)?;
    let mut batch = LlamaBatch::new(n_ctx, 1);
    let last = tokens.len() - 1;
    for (i, &t) in tokens.iter().enumerate() {
        add(&mut batch, t, i, i == last)?;
    }
    ctx.decode(&mut batch)
        .map_err(|e| LlmError::Decode(e.to_string()))?;
    let options: Vec<String> = (0..contenders.len())
        .map(|i| format!("\"{}\"", LETTERS[i] as char))
        .chain(["\"none\"".to_owned()])
        .collect();
    let grammar = format!("root ::= {}\n", options.join(" | "));
    let grammar = LlamaSampler::grammar(&model.llama, &grammar, "root")
        .map_err(|e| LlmError::Grammar(e.to_string()))?;
    let mut sampler = LlamaSampler::chain_simple([grammar, LlamaSampler::greedy()]);
    let mut answer = Vec::new();
    for step in 0..MAX_ANSWER_TOKENS {
        let token = sampler.sample(&ctx, batch.n_tokens() - 1);
        answer.extend_from_slice(&vocab.token_to_piece(token, false, None));
        let text = String::from_utf8_lossy(&answer);
        if let [letter] = text.as_bytes() {
            if let Some(i) = LETTERS.iter().position(|l| l == letter) {
                return Ok(Some(i));
            }
        }
        if text == "none" || vocab.is_eog(token) {
            return Ok(None);
        }
        batch.clear();
        add(&mut batch, token, tokens.len() + step, true)?;
        ctx.decode(&mut batch)
            .map_err(|e| LlmError::Decode(e.to_string()))?;
    }
    Err(LlmError::Incomplete {
        max_tokens: MAX_ANSWER_TOKENS,
        raw: String::from_utf8_lossy(&answer).into_owned(),
    })
}

/// The chat prompt of a system and a user message, in the model's own
/// template (ChatML when the GGUF has none).
pub(crate) fn render(model: &Model, system: &str, user: &str) -> Result<String, LlmError> {
    let prompt_err = |e: &dyn std::fmt::Display| LlmError::Prompt(e.to_string());
    let chat = [("system", system), ("user", user)]
        .into_iter()
        .map(|(role, content)| LlamaChatMessage::new(role.into(), content.into()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| prompt_err(&e))?;
    let template = match model.llama.chat_template(None) {
        Ok(t) => t,
        Err(_) => LlamaChatTemplate::new("chatml").map_err(|e| prompt_err(&e))?,
    };
    model
        .llama
        .apply_chat_template(&template, &chat, true)
        .map_err(|e| prompt_err(&e))
}
