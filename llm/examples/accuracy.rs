//! LlmExtract accuracy on the corpus of real benchmark outputs in
//! `llm/corpus/` (captured from Debian's packages, values checked by hand in
//! `expected.toml`): exact-match accuracy per tool and overall, and latency
//! per output (median, max), for candidates first and for the model-only
//! path, with the model loaded.
//!
//! ```text
//! cargo run -p ktstr-llm --example accuracy [-- --reader-only] [-- --verbose]
//! ```
//!
//! A hint in `expect` is right when the extraction returns exactly that value;
//! a hint in `none` is right when it returns nothing for it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ktstr_llm::{extract, extract_model_only, resolve_model_path, Extraction, Model};
use ktstr_llm_candidates::corpus::Corpus;

#[derive(Default)]
struct Tally {
    right: usize,
    total: usize,
}

impl Tally {
    fn pct(&self) -> f64 {
        100.0 * self.right as f64 / self.total.max(1) as f64
    }
}

struct PathResult {
    per_tool: BTreeMap<String, Tally>,
    overall: Tally,
    latencies: Vec<Duration>,
    chosen: usize,
    failures: Vec<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "--verbose");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let corpus = Corpus::load(&dir)?;
    let path = resolve_model_path(None)?;
    let load = std::time::Instant::now();
    let model = Model::load(&path)?;
    let tools: std::collections::BTreeSet<&str> =
        corpus.output.iter().map(|o| o.tool.as_str()).collect();
    let hints: usize = corpus
        .output
        .iter()
        .map(|o| o.expect.len() + o.none.len())
        .sum();
    println!(
        "corpus: {} outputs from {} tools, {hints} hints; model {} loaded in {:.0} ms",
        corpus.output.len(),
        tools.len(),
        path.display(),
        load.elapsed().as_secs_f64() * 1e3
    );
    let mut results = vec![("candidates first", run(&model, &corpus, extract)?)];
    if !args.iter().any(|a| a == "--reader-only") {
        results.push(("model only", run(&model, &corpus, extract_model_only)?));
    }
    println!();
    print!("{:<16}", "tool");
    for (name, _) in &results {
        print!("  {name:>18}");
    }
    println!();
    for tool in &tools {
        print!("{tool:<16}");
        for (_, r) in &results {
            let t = &r.per_tool[*tool];
            print!("  {:>9.1}% ({:>2}/{:>2})", t.pct(), t.right, t.total);
        }
        println!();
    }
    print!("{:<16}", "overall");
    for (_, r) in &results {
        print!(
            "  {:>9.1}% ({:>2}/{:>2})",
            r.overall.pct(),
            r.overall.right,
            r.overall.total
        );
    }
    println!();
    for (name, r) in &mut results {
        r.latencies.sort();
        let median = r.latencies[r.latencies.len() / 2];
        let max = r.latencies.last().copied().unwrap_or_default();
        println!(
            "{name}: latency per output median {:.0} ms, max {:.0} ms; {} hints chosen by the model",
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            r.chosen
        );
        if verbose {
            r.failures.iter().for_each(|f| println!("  wrong: {f}"));
        }
    }
    Ok(())
}

type ExtractFn = fn(&Model, &str, &[String]) -> Result<Extraction, ktstr_llm::LlmError>;

fn run(
    model: &Model,
    corpus: &Corpus,
    f: ExtractFn,
) -> Result<PathResult, Box<dyn std::error::Error>> {
    let mut r = PathResult {
        per_tool: BTreeMap::new(),
        overall: Tally::default(),
        latencies: Vec::new(),
        chosen: 0,
        failures: Vec::new(),
    };
    for o in &corpus.output {
        let text = corpus.text(o)?;
        let hints: Vec<String> = o.expect.keys().chain(&o.none).cloned().collect();
        let (found, elapsed) = match f(model, &text, &hints) {
            Ok(x) => {
                r.chosen += x.chosen_by_model;
                let elapsed = x.elapsed;
                (x.metrics, elapsed)
            }
            Err(e) => {
                r.failures
                    .push(format!("{}: extraction failed: {e}", o.file));
                (Vec::new(), Duration::ZERO)
            }
        };
        r.latencies.push(elapsed);
        let tally = r.per_tool.entry(o.tool.clone()).or_default();
        let got = |h: &str| found.iter().find(|(n, _)| n == h).map(|(_, v)| *v);
        for (hint, &want) in &o.expect {
            let ok = got(hint) == Some(want);
            if !ok {
                r.failures
                    .push(format!("{}: {hint} = {:?}, want {want}", o.file, got(hint)));
            }
            tally.right += usize::from(ok);
            tally.total += 1;
        }
        for hint in &o.none {
            let ok = got(hint).is_none();
            if !ok {
                r.failures
                    .push(format!("{}: {hint} = {:?}, want none", o.file, got(hint)));
            }
            tally.right += usize::from(ok);
            tally.total += 1;
        }
    }
    r.overall.right = r.per_tool.values().map(|t| t.right).sum();
    r.overall.total = r.per_tool.values().map(|t| t.total).sum();
    Ok(r)
}
