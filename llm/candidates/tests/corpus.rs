//! The deterministic half of LlmExtract on the real outputs in
//! `llm/corpus/` (captured from Debian's benchmark packages): every hint the
//! reader resolves must resolve to the hand-checked value, and hints the text
//! does not answer must not resolve. What the reader leaves open goes to the
//! model; `cargo run -p ktstr-llm --example accuracy` measures both together.

use std::path::PathBuf;

use ktstr_llm_candidates::corpus::Corpus;
use ktstr_llm_candidates::{read, resolve, Resolution};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

#[test]
fn the_reader_never_resolves_a_hint_to_a_wrong_value() {
    let corpus = Corpus::load(&corpus_dir()).unwrap();
    let tools: std::collections::BTreeSet<&str> =
        corpus.output.iter().map(|o| o.tool.as_str()).collect();
    assert!(
        corpus.output.len() >= 25 && tools.len() >= 8,
        "corpus too small"
    );
    let (mut right, mut open, mut wrong) = (0, 0, Vec::new());
    for o in &corpus.output {
        let text = corpus.text(o).unwrap();
        let candidates = read(&text);
        for (hint, &want) in &o.expect {
            match resolve(hint, &candidates) {
                Resolution::Found(c) if candidates[c].value == want => right += 1,
                Resolution::Found(c) => wrong.push(format!(
                    "{}: {hint} -> {} ({}), want {want}",
                    o.file,
                    candidates[c].written,
                    candidates[c].label_text()
                )),
                _ => open += 1,
            }
        }
        for hint in &o.none {
            if let Resolution::Found(c) = resolve(hint, &candidates) {
                wrong.push(format!(
                    "{}: {hint} -> {} ({}), want none",
                    o.file,
                    candidates[c].written,
                    candidates[c].label_text()
                ));
            } else {
                right += 1;
            }
        }
    }
    println!(
        "reader: {right} right, {open} left to the model, {} wrong",
        wrong.len()
    );
    assert!(wrong.is_empty(), "wrong:\n{}", wrong.join("\n"));
    assert!(
        right > open * 3,
        "the reader resolves too little: {right} right, {open} open"
    );
}
