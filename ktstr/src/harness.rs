//! The test harness: collects the `#[ktstr::test]` functions of a test
//! binary, lists one case per (topology, scheduler) and runs each in its own
//! VM, through libtest-mimic so `cargo test` and `cargo nextest run` both
//! drive it.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Mutex, OnceLock};

use ktstr_eval::DetailKind;
use ktstr_model::{catalog, Scenario, Topology};
use ktstr_runner::{BootKernel, GuestRuntime, Run, RunOrigin, RunRecord};
use libtest_mimic::{Arguments, Failed, Trial};

/// A `#[ktstr::test]` as the macro registers it.
#[derive(Debug)]
pub struct TestDecl {
    /// The function's name.
    pub name: &'static str,
    /// Its module path.
    pub module: &'static str,
    /// Topologies (`N,L,C,T` or preset names); empty: the scenario's own or
    /// [`ktstr_runner::DEFAULT_TOPOLOGY`].
    pub topologies: &'static [&'static str],
    /// Schedulers; empty: the scenario's own or EEVDF.
    pub schedulers: &'static [&'static str],
    /// A scheduler whose run of the same scenario the body compares against.
    pub baseline: Option<&'static str>,
    /// Overrides the scenario's duration, ms.
    pub duration_ms: Option<u64>,
    /// Guest memory, MiB.
    pub memory_mib: Option<u32>,
    /// Kernel: cache id prefix, `debug`, or a bzImage path.
    pub kernel: Option<&'static str>,
    /// The failure the run must show for the case to pass.
    pub expect_fail: Option<&'static str>,
    /// What the test does.
    pub body: Body,
}

inventory::collect!(TestDecl);

/// A `#[ktstr::worker]` as the macro registers it.
#[derive(Debug)]
pub struct WorkerDecl {
    /// The name scenarios use in `WorkType::Custom`.
    pub name: &'static str,
    /// The function.
    pub run: ktstr_guest::CustomWorkerFn,
}

inventory::collect!(WorkerDecl);

/// The registered custom worker called `name`.
pub fn custom_worker(name: &str) -> Option<ktstr_guest::CustomWorkerFn> {
    inventory::iter::<WorkerDecl>
        .into_iter()
        .find(|w| w.name == name)
        .map(|w| w.run)
}

/// Where an assertion body's scenario comes from.
#[derive(Debug, Clone, Copy)]
pub enum ScenarioSource {
    /// A catalog scenario by name.
    Catalog(&'static str),
    /// A function building it.
    Function(fn() -> Scenario),
    /// The test function itself (declarative form).
    Body,
}

/// An assertion body: the record, and the baseline's when there is one.
pub type Check = fn(&RunRecord, Option<&RunRecord>) -> Result<(), String>;

/// What a test does with its run.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// The function returns the scenario; the run's verdict decides.
    Declarative(fn() -> Scenario),
    /// The scenario comes from elsewhere; the function asserts over the record.
    Assert {
        /// The scenario.
        scenario: ScenarioSource,
        /// The wrapped function.
        check: Check,
    },
}

/// What an assertion body may return: `()` (panic to fail) or a `Result`.
pub trait TestOutcome {
    /// `Err` with the message when the body says the test failed.
    fn into_result(self) -> Result<(), String>;
}

impl TestOutcome for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Display> TestOutcome for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// One runnable case of a test.
#[derive(Debug, Clone)]
pub struct Case {
    /// `test/TOPOLOGY/SCHEDULER` (module path first when not the crate root).
    pub name: String,
    /// The test it came from.
    pub decl: &'static TestDecl,
    /// The topology value (`None`: the scenario's own or the default).
    pub topology: Option<&'static str>,
    /// The scheduler value (`None`: the scenario's own or EEVDF).
    pub scheduler: Option<&'static str>,
}

/// The cases of every registered test, in name order.
pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for decl in inventory::iter::<TestDecl> {
        let prefix = match decl.module.split_once("::") {
            Some((_, rest)) => format!("{}::{}", rest, decl.name),
            None => decl.name.to_owned(),
        };
        let topos: Vec<Option<&'static str>> = if decl.topologies.is_empty() {
            vec![None]
        } else {
            decl.topologies.iter().map(|t| Some(*t)).collect()
        };
        let scheds: Vec<Option<&'static str>> = if decl.schedulers.is_empty() {
            vec![None]
        } else {
            decl.schedulers.iter().map(|s| Some(*s)).collect()
        };
        for &topology in &topos {
            for &scheduler in &scheds {
                let mut name = prefix.clone();
                if let Some(t) = topology {
                    name.push('/');
                    name.push_str(&topology_label(t));
                }
                if let Some(s) = scheduler {
                    name.push('/');
                    name.push_str(&s.split_whitespace().collect::<Vec<_>>().join("_"));
                }
                out.push(Case {
                    name,
                    decl,
                    topology,
                    scheduler,
                });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `1n2l2c1t` for `1,2,2,1`; a preset's own name stays.
fn topology_label(value: &str) -> String {
    match value.parse::<Topology>() {
        Ok(t) if value.contains(',') => t.to_string(),
        _ => value.to_owned(),
    }
}

/// Why a case cannot run on this machine (checked without booting). The
/// kernel lookup and the backend check are done once per binary, not per case.
pub fn skip_reason(case: &Case) -> Option<String> {
    if let Err(e) = case_topology(case) {
        return Some(e);
    }
    let kernel = match kernel_for(case.decl.kernel) {
        Ok(k) => k,
        Err(e) => return Some(e),
    };
    if let Some(e) = backend_missing() {
        return Some(e);
    }
    let schedulers = case.scheduler.into_iter().chain(case.decl.baseline);
    for value in schedulers {
        if let Err(e) = ktstr_runner::resolve_scheduler(value, &kernel.resolved) {
            return Some(format!(
                "scheduler `{value}` is not available: {}",
                first_line(&ktstr_runner::error_text(&e))
            ));
        }
    }
    None
}

/// The kernel a test names (`None`: the newest), resolved once per name.
fn kernel_for(spec: Option<&'static str>) -> Result<BootKernel, String> {
    type Kernels = Mutex<HashMap<Option<&'static str>, Result<BootKernel, String>>>;
    static KERNELS: OnceLock<Kernels> = OnceLock::new();
    let mut kernels = KERNELS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    kernels
        .entry(spec)
        .or_insert_with(|| {
            BootKernel::resolve(spec).map_err(|e| {
                format!(
                    "no kernel to boot: {}; build one with `ktstr kernel build`",
                    first_line(&ktstr_runner::error_text(&e))
                )
            })
        })
        .clone()
}

/// Why no VM backend opens here, checked once.
fn backend_missing() -> Option<String> {
    static MISSING: OnceLock<Option<String>> = OnceLock::new();
    MISSING
        .get_or_init(|| {
            ktstr_runner::BackendChoice::Auto.open().err().map(|e| {
                format!(
                    "no VM backend: {}",
                    first_line(&ktstr_runner::error_text(&e))
                )
            })
        })
        .clone()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

fn case_topology(case: &Case) -> Result<Option<Topology>, String> {
    case.topology
        .map(|t| Topology::parse_or_preset(t).map_err(|e| format!("topology `{t}`: {e}")))
        .transpose()
}

/// The scenario a case runs, with the test's duration applied.
fn scenario_of(case: &Case) -> Result<Scenario, String> {
    let mut scenario = match case.decl.body {
        Body::Declarative(f) => f(),
        Body::Assert { scenario, .. } => match scenario {
            ScenarioSource::Catalog(name) => catalog::find(name).ok_or_else(|| {
                format!(
                    "no catalog scenario `{name}` (`ktstr list --faults --payloads` shows them)"
                )
            })?,
            ScenarioSource::Function(f) => f(),
            ScenarioSource::Body => return Err("an assertion body without a scenario".into()),
        },
    };
    if let Some(ms) = case.decl.duration_ms {
        scenario.duration_ms = ms;
    }
    Ok(scenario)
}

fn run_under(
    case: &Case,
    scenario: &Scenario,
    scheduler: Option<&str>,
) -> Result<RunRecord, String> {
    let mut run = Run::new(scenario.clone())
        .guest_runtime(GuestRuntime::CurrentExe)
        .origin(RunOrigin::Harness);
    if let Some(s) = scheduler {
        run = run.scheduler(s);
    }
    if let Some(t) = case_topology(case)? {
        run = run.topology(t);
    }
    if let Some(k) = case.decl.kernel {
        run = run.kernel(k);
    }
    if let Some(m) = case.decl.memory_mib {
        run = run.memory_mib(m);
    }
    match run.run() {
        Ok(record) => Ok(record),
        // Judged but not stored (a full disk): the verdict still decides.
        Err(ktstr_runner::RunError::NotStored { record, source }) => {
            eprintln!(
                "warning: the run record was not stored: {}",
                ktstr_runner::error_text(&source)
            );
            Ok(*record)
        }
        Err(e) => Err(format!(
            "the run could not be judged: {}",
            ktstr_runner::error_text(&e)
        )),
    }
}

/// Whether the record shows the failure `expected` names: a failed check of
/// that name, a detail of that kind, or for `stall` any of gap, starvation
/// or a scheduler ejected for a stall.
pub fn failed_with(record: &RunRecord, expected: &str) -> bool {
    record.verdict.failures().any(|c| {
        c.name == expected
            || c.details.iter().any(|d| {
                let kind = serde_json::to_value(d.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                kind == expected
                    || (expected == "stall"
                        && (matches!(d.kind, DetailKind::Gap | DetailKind::Starvation)
                            || (d.kind == DetailKind::SchedulerDied
                                && d.message.contains("stall"))))
            })
    })
}

/// Runs one case: its scenario (and baseline), then the verdict, the
/// expected failure or the body's assertions decide.
pub fn run_case(case: &Case) -> Result<(), String> {
    let scenario = scenario_of(case)?;
    for g in scenario.worker_groups() {
        if let ktstr_model::WorkType::Custom { name } = &g.work {
            if custom_worker(name).is_none() {
                return Err(format!(
                    "the scenario starts custom worker `{name}`, which no #[ktstr::worker] in this test binary registers"
                ));
            }
        }
    }
    let baseline = match case.decl.baseline {
        Some(b) => Some(run_under(case, &scenario, Some(b))?),
        None => None,
    };
    let record = run_under(case, &scenario, case.scheduler)?;
    let report = || record.verdict.render_text();
    match (case.decl.expect_fail, case.decl.body) {
        (Some(expected), _) => {
            if failed_with(&record, expected) {
                Ok(())
            } else if record.passed() {
                Err(format!(
                    "expected a `{expected}` failure, but the run passed:\n{}",
                    report()
                ))
            } else {
                Err(format!(
                    "expected a `{expected}` failure, but the run failed otherwise:\n{}",
                    report()
                ))
            }
        }
        (None, Body::Declarative(_)) if record.passed() => Ok(()),
        (None, Body::Declarative(_)) => Err(format!(
            "{}\n{}",
            report(),
            ktstr_runner::render_payloads(&record.payloads, &record.payload_findings)
        )),
        (None, Body::Assert { check, .. }) => {
            check(&record, baseline.as_ref()).map_err(|e| format!("{e}\n\nthe run:\n{}", report()))
        }
    }
}

/// The test binary's `main`: the guest runtime when the binary is a VM's
/// `/init`, else the harness over every registered test.
///
/// Cases that cannot run here are listed as ignored (nextest shows them as
/// skipped); their reasons go to standard error when tests run, and running
/// one anyway (`--ignored`) fails with the reason instead of passing.
pub fn main() -> ! {
    if std::process::id() == 1 {
        ktstr_guest::set_custom_workers(custom_worker);
        ktstr_guest::run_as_init();
    }
    let args = Arguments::from_args();
    let trials: Vec<Trial> = cases()
        .into_iter()
        .map(|case| {
            let reason = skip_reason(&case);
            if let (Some(r), false) = (&reason, args.list) {
                eprintln!("ktstr: skipping {}: {r}", case.name);
            }
            let ignored = reason.is_some();
            Trial::test(case.name.clone(), move || match reason {
                Some(r) => Err(Failed::from(format!("cannot run here: {r}"))),
                None => run_case(&case).map_err(Failed::from),
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}
