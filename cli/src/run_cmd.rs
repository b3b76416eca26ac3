//! `ktstr run`: scenarios × schedulers, each in its own VM, judged on the host.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use ktstr_adapters::AdapterRegistry;
use ktstr_eval::{evaluate, Accel, RunInput, Verdict, VmEnd};
use ktstr_model::{catalog, GuestPlan, GuestTask, Scenario, SchedulerLaunch, Topology};
use ktstr_vmm::{VmExit, VmOutcome};
use serde::Serialize;

use crate::boot::{select_backend, BackendChoice};
use crate::failure::{Failure, OrUsage, EXIT_FAILED};
use crate::llm_extract::{self, PluginExtractor};
use crate::payload_judge::{self, PayloadReport};
use crate::scheduler_arg::{self, SchedulerArg, EEVDF};
use crate::vm_run::{self, VmRequest};
use crate::{extract_cmd, kernel_cmd, payloads, repeat, CmdResult};

/// Where the scheduler binary goes in the guest.
const GUEST_BIN_DIR: &str = "/ktstr/bin";

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Scheduler(s): `eevdf`, a built one by name (`scx_simple`, `simple`), or a path;
    /// arguments may follow inside the quotes (`"scx_qmap -t 2"`). Repeatable.
    /// Default: the scheduler a scenario is written for (seeded faults name theirs), else EEVDF.
    #[arg(long, short = 's')]
    scheduler: Vec<String>,
    /// Scenario(s): a catalog name (see `ktstr list`) or a TOML file. Default: the whole catalog.
    #[arg(long = "scenario", short = 'c')]
    scenarios: Vec<String>,
    /// Topology as N,L,C,T or a preset name (see `ktstr topo list`), for scenarios that do not fix their own.
    #[arg(long, short = 't', default_value = "1,2,2,1")]
    topology: String,
    /// Kernel: a cache id (prefix) or a path to a bzImage.
    #[arg(long)]
    kernel: Option<String>,
    /// Guest memory in MiB.
    #[arg(long)]
    memory: Option<u32>,
    /// VM backend.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendChoice,
    /// Seconds the scheduler may take to attach.
    #[arg(long, default_value_t = 30)]
    attach_timeout: u64,
    /// Output adapter plugin for payloads (repeatable; `$KTSTR_ADAPTER_PATH` is searched too).
    #[arg(long = "plugin", value_name = "PATH")]
    plugins: Vec<std::path::PathBuf>,
    /// Run every scenario this many times and report the run-to-run spread.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    repeat: u32,
    /// Print JSON instead of the human report.
    #[arg(long)]
    json: bool,
}

/// How every VM of a command is set up (beyond scenario and scheduler).
#[derive(Debug, Clone, Copy)]
pub(crate) struct VmSettings {
    /// Guest memory in MiB (`None`: by topology).
    pub memory: Option<u32>,
    /// Seconds the scheduler may take to attach.
    pub attach_timeout: u64,
}

/// One scenario under one scheduler.
#[derive(Serialize)]
pub(crate) struct RunRecord {
    scenario: String,
    scheduler: String,
    topology: String,
    backend: &'static str,
    accel: String,
    pub(crate) wall_ms: f64,
    boot_ms: Option<f64>,
    pub(crate) topology_mismatches: Vec<String>,
    pub(crate) verdict: Verdict,
    pub(crate) payloads: Vec<PayloadReport>,
    /// Findings about the payload output as a whole (LlmExtract: outputs of no
    /// known payload, payloads with no output, frames lost on the wire).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    payload_findings: Vec<String>,
}

impl RunRecord {
    /// Every check, the topology and every payload passed.
    pub(crate) fn passed(&self) -> bool {
        self.verdict.passed()
            && self.topology_mismatches.is_empty()
            && self.payloads.iter().all(|p| p.passed)
    }
}

pub(crate) fn run(a: RunArgs) -> CmdResult {
    let default_topo = Topology::parse_or_preset(&a.topology).or_usage()?;
    let scenarios = resolve_scenarios(&a.scenarios)?;
    for s in &scenarios {
        let topo = s.topology.unwrap_or(default_topo);
        s.validate(&topo).map_err(Failure::usage)?;
    }
    let kernel = kernel_cmd::resolve(a.kernel.as_deref())?;
    // (scheduler, scenario) in run order: every scenario under each `-s`, or
    // each scenario under the scheduler it names (EEVDF if none).
    let mut pairs: Vec<(SchedulerArg, &Scenario)> = Vec::new();
    if a.scheduler.is_empty() {
        for s in &scenarios {
            let value = s.scheduler.as_deref().unwrap_or(EEVDF);
            pairs.push((scheduler_arg::resolve(value, &kernel.resolved)?, s));
        }
    } else {
        for value in &a.scheduler {
            let sched = scheduler_arg::resolve(value, &kernel.resolved)?;
            pairs.extend(scenarios.iter().map(|s| (sched.clone(), s)));
        }
    }
    let backend = select_backend(a.backend)?;
    let registry = extract_cmd::registry(&a.plugins)?;

    let mut records = Vec::new();
    for (sched, scenario) in pairs
        .iter()
        .flat_map(|p| std::iter::repeat_n(p, a.repeat as usize))
    {
        let (sched, scenario) = (sched, *scenario);
        {
            let topo = scenario.topology.unwrap_or(default_topo);
            if !a.json {
                eprintln!(
                    "running {} under {} on {} ...",
                    scenario.name,
                    sched.label(),
                    topo
                );
            }
            let settings = VmSettings {
                memory: a.memory,
                attach_timeout: a.attach_timeout,
            };
            let rec = run_one(
                scenario,
                sched,
                topo,
                settings,
                &kernel.image,
                backend.as_ref(),
                &registry,
            )?;
            if ktstr_vmm::stop_requested() {
                return Err(Failure::interrupted());
            }
            if !a.json {
                println!("{}", rec.verdict.render_text());
                for m in &rec.topology_mismatches {
                    println!("  topology mismatch: {m}");
                }
                print!(
                    "{}",
                    payload_judge::render(&rec.payloads, &rec.payload_findings)
                );
                println!();
            }
            records.push(rec);
        }
    }
    let failed = records.iter().filter(|r| !r.passed()).count();
    let durations: BTreeMap<&str, u64> = scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.duration_ms))
        .collect();
    let spread = repeat::summarise(records.iter().map(|r| {
        (
            &r.verdict,
            durations.get(r.scenario.as_str()).copied().unwrap_or(1),
        )
    }));
    if a.json && a.repeat > 1 {
        let out = serde_json::json!({ "runs": records, "repeat": spread });
        crate::failure::print_json(&out)?;
    } else if a.json {
        crate::failure::print_json(&records)?;
    } else {
        print_summary(&records);
        if a.repeat > 1 {
            print!("{}", repeat::render(&spread));
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

pub(crate) fn run_one(
    scenario: &Scenario,
    sched: &SchedulerArg,
    topo: Topology,
    a: VmSettings,
    image: &Path,
    backend: &dyn ktstr_vmm::Backend,
    registry: &AdapterRegistry,
) -> Result<RunRecord, Failure> {
    let mut scenario = scenario.clone();
    let mut binaries = payloads::resolve(&mut scenario)?;
    let scenario = &scenario;
    let launch = sched.host_path.as_ref().map(|p| {
        let file = p
            .file_name()
            .map_or_else(|| sched.name.clone(), |f| f.to_string_lossy().into_owned());
        let guest_path = format!("{GUEST_BIN_DIR}/{file}");
        binaries.push((p.clone(), guest_path.clone()));
        SchedulerLaunch {
            guest_path,
            args: sched.args.clone(),
            attach_timeout_ms: a.attach_timeout * 1000,
        }
    });
    let plan = GuestPlan {
        topology: topo,
        task: GuestTask::Scenario {
            scenario: Box::new(scenario.clone()),
            scheduler: launch,
        },
    };
    // Boot and attach take seconds under TCG; the workload is bounded by the scenario.
    let timeout = Duration::from_millis(scenario.duration_ms * 3)
        + Duration::from_secs(90 + a.attach_timeout);
    let req = VmRequest {
        image: image.to_path_buf(),
        plan,
        present: topo,
        memory_mib: a.memory,
        timeout,
        binaries,
        cmdline: Vec::new(),
        backend,
    };
    let res = vm_run::run(req, &mut |_| {})?;
    let input = RunInput {
        scenario: scenario.clone(),
        scheduler: sched.label(),
        topology: topo.to_string(),
        accel: if res.outcome.accel == ktstr_vmm::Accel::Kvm {
            Accel::Kvm
        } else {
            Accel::Tcg
        },
        messages: res.outcome.messages.clone(),
        console: res.outcome.console.text(),
        vm_exit: vm_end(&res.outcome),
        wire_loss: res
            .outcome
            .wire
            .has_loss()
            .then(|| format!("{:?}", res.outcome.wire)),
    };
    let verdict = evaluate(&input);
    let judgement = payload_judge::judge(
        scenario,
        &res.outcome.messages,
        registry,
        &PluginExtractor::new(registry),
        llm_extract::wire_health(&res.outcome.wire),
    );
    Ok(RunRecord {
        scenario: scenario.name.clone(),
        scheduler: sched.label(),
        topology: topo.to_string(),
        backend: res.outcome.backend,
        accel: res.outcome.accel.to_string(),
        wall_ms: res.outcome.wall.as_secs_f64() * 1e3,
        boot_ms: res.hello.as_ref().map(|h| h.boot_ns as f64 / 1e6),
        // A scheduler is only judged on the topology it was asked to run on.
        topology_mismatches: if res.hello.is_some() {
            res.topology.mismatches
        } else {
            Vec::new()
        },
        verdict,
        payloads: judgement.reports,
        payload_findings: judgement.findings,
    })
}

fn vm_end(o: &VmOutcome) -> VmEnd {
    match &o.exit {
        VmExit::Completed => VmEnd::Completed,
        VmExit::KernelPanic { text } => VmEnd::KernelPanic { text: text.clone() },
        VmExit::Timeout { last_lines, .. } => VmEnd::Timeout {
            last_lines: last_lines.clone(),
        },
        VmExit::NoResult { status, last_lines } => VmEnd::NoResult {
            status: status.clone(),
            last_lines: last_lines.clone(),
        },
        VmExit::Interrupted => VmEnd::Interrupted,
    }
}

/// Catalog names or TOML files; none = the whole catalog.
pub(crate) fn resolve_scenarios(names: &[String]) -> Result<Vec<Scenario>, Failure> {
    if names.is_empty() {
        return Ok(catalog::catalog());
    }
    names
        .iter()
        .map(|n| {
            let p = Path::new(n);
            if n.ends_with(".toml") || p.is_file() {
                let text = std::fs::read_to_string(p).map_err(|e| Failure::usage(anyhow!("failed to read scenario file `{n}`: {e}")))?;
                Scenario::from_toml(&text).map_err(|e| Failure::usage(anyhow!("scenario file `{n}` is malformed: {e}")))
            } else {
                catalog::find(n).ok_or_else(|| Failure::usage(anyhow!("unknown scenario `{n}`\nhint: `ktstr list` shows the catalog; a path to a .toml file also works")))
            }
        })
        .collect()
}

fn print_summary(records: &[RunRecord]) {
    let passed = records.iter().filter(|r| r.passed()).count();
    println!("summary: {passed} of {} runs passed", records.len());
    for r in records {
        let ok = r.passed();
        println!(
            "  {}  {:<20} {:<16} {}  {:.1} s",
            if ok { "PASS" } else { "FAIL" },
            r.scenario,
            r.scheduler,
            r.topology,
            r.wall_ms / 1e3
        );
    }
}
