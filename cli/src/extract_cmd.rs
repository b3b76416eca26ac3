//! `ktstr extract`: run an output adapter on saved payload output, without a VM, so a payload
//! definition can be developed against a captured run.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::Args;
use ktstr_adapters::{
    evaluate, AdapterInfo, AdapterInput, AdapterRegistry, AdapterRunError, Metric, MetricHint,
    Origin,
};
use ktstr_model::Payload;
use serde::Serialize;

use crate::failure::{Failure, OrUsage, EXIT_FAILED};
use crate::CmdResult;

#[derive(Args)]
pub(crate) struct ExtractArgs {
    /// Captured stdout of the payload: a file, or `-` for standard input.
    #[arg(value_name = "FILE|-")]
    input: String,
    /// Output adapter: built-in `Json` or `ExitCode`, or one from a plugin.
    #[arg(long, required_unless_present = "spec")]
    adapter: Option<String>,
    /// Metric hint; POLARITY is higher, lower, target=VALUE or unknown. Repeatable.
    #[arg(long = "hint", value_name = "NAME[:POLARITY[:UNIT]]")]
    hints: Vec<MetricHint>,
    /// Adapter plugin to load (a shared library built against ktstr-adapters). Repeatable;
    /// `$KTSTR_ADAPTER_PATH` (`:`-separated directories or files) is searched too.
    #[arg(long = "plugin", value_name = "PATH")]
    plugins: Vec<PathBuf>,
    /// Captured stderr of the payload.
    #[arg(long, value_name = "FILE")]
    stderr: Option<String>,
    /// Exit code of the payload.
    #[arg(long, allow_negative_numbers = true)]
    exit_code: Option<i32>,
    /// Payload definition as in a scenario (JSON, or TOML when named `*.toml`): its adapter,
    /// hints, checks and bounds apply.
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    adapter: &'a AdapterInfo,
    /// `built-in` or `plugin`.
    origin: &'static str,
    /// The plugin file, for a plugin.
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin: Option<&'a Path>,
    input: &'a str,
    metrics: &'a [Metric],
    details: &'a [String],
    violations: &'a [String],
    ok: bool,
}

pub(crate) fn run(a: ExtractArgs) -> CmdResult {
    let spec = a.spec.as_deref().map(read_spec).transpose()?;
    let adapter = match (&a.adapter, &spec) {
        (Some(name), _) => name.clone(),
        (None, Some(spec)) => spec.adapter.clone(),
        (None, None) => {
            return Err(Failure::usage(anyhow!(
                "no adapter given\nhint: pass --adapter NAME or --spec FILE"
            )))
        }
    };
    let registry = registry(&a.plugins)?;
    let mut hints = a.hints.clone();
    hints.extend(
        spec.iter()
            .flat_map(|s| s.hints.iter().map(MetricHint::from)),
    );
    let input = AdapterInput {
        stdout: read_output(&a.input)?,
        stderr: a
            .stderr
            .as_deref()
            .map(read_output)
            .transpose()?
            .unwrap_or_default(),
        exit_code: a.exit_code,
        hints,
    };
    let output = registry.extract(&adapter, &input).map_err(|e| match e {
        AdapterRunError::UnknownAdapter { .. } => Failure::usage(e),
        AdapterRunError::Panicked { .. } => Failure::failed(e),
    })?;
    let mut violations = Vec::new();
    if output.metrics.is_empty() {
        violations.push("no metrics were extracted".to_string());
    }
    if let Some(spec) = &spec {
        violations.extend(evaluate(spec, &output, a.exit_code));
    }
    let (info, origin) = registry.find(&adapter).expect("the adapter just ran");
    let report = Report {
        adapter: info,
        origin: match origin {
            Origin::BuiltIn => "built-in",
            Origin::Plugin(_) => "plugin",
        },
        plugin: match origin {
            Origin::BuiltIn => None,
            Origin::Plugin(path) => Some(path),
        },
        input: &a.input,
        metrics: &output.metrics,
        details: &output.details,
        violations: &violations,
        ok: violations.is_empty(),
    };
    if a.json {
        crate::failure::print_json(&report)?;
    } else {
        print_human(&report);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// The runner's adapter registry; load warnings go to stderr.
pub(crate) fn registry(plugins: &[PathBuf]) -> Result<AdapterRegistry, Failure> {
    let (registry, warnings) = ktstr_runner::adapter_registry(plugins).or_usage()?;
    for w in warnings {
        crate::failure::warn(&w);
    }
    Ok(registry)
}

fn read_output(path: &str) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("failed to read standard input")
            .or_usage()?;
    } else {
        bytes = std::fs::read(path)
            .with_context(|| format!("failed to read captured output `{path}`"))
            .or_usage()?;
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads a payload definition as a scenario writes it ([`ktstr_model::Payload`]).
fn read_spec(path: &Path) -> Result<Payload, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read payload definition `{}`", path.display()))
        .or_usage()?;
    let parsed: anyhow::Result<Payload> = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(anyhow::Error::from)
    } else {
        serde_json::from_str(&text).map_err(anyhow::Error::from)
    };
    parsed
        .with_context(|| format!("failed to parse payload definition `{}`", path.display()))
        .or_usage()
}

fn print_human(r: &Report<'_>) {
    let origin = match r.plugin {
        Some(path) => format!("plugin {}", path.display()),
        None => r.origin.to_string(),
    };
    println!(
        "{} {} ({origin}) on `{}`: {} metric(s)",
        r.adapter.name,
        r.adapter.version,
        r.input,
        r.metrics.len()
    );
    let width = r
        .metrics
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(0)
        .min(60);
    for m in r.metrics {
        let unit = m.unit.as_deref().unwrap_or("");
        println!(
            "  {:<width$}  {:>12}  {:<6}  {}",
            m.name, m.value, unit, m.stream
        );
    }
    for (title, lines) in [("details", r.details), ("violations", r.violations)] {
        if !lines.is_empty() {
            println!("{title}:");
            lines.iter().for_each(|l| println!("  {l}"));
        }
    }
    match r.violations.len() {
        0 => println!("ok"),
        n => println!("FAILED: {n} violation(s)"),
    }
}
