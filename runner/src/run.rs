//! Running a scenario: one path for the command line, the test harness and
//! library users.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use ktstr_adapters::AdapterRegistry;
use ktstr_eval::{evaluate, RunInput};
use ktstr_model::{GuestPlan, GuestTask, KernelDetectors, Scenario, SchedulerLaunch, Topology};
use ktstr_results::{
    file_sha256, git_commit_of, new_run_id, rfc3339, HostInfo, KernelBuild, ResultsStore, RunMeta,
    RunOrigin, SchedulerBuild, RUN_RECORD_SCHEMA,
};
use ktstr_vmm::Backend;

use crate::guest_image::GuestRuntime;
use crate::llm_extract::{self, PluginExtractor};
use crate::record::{self, vm_end, RunRecord};
use crate::vm::{self, VmRequest};
use crate::{payload_judge, payloads, BackendChoice, BootKernel, RunError, SchedulerArg};

/// Where the scheduler binary goes in the guest.
const GUEST_BIN_DIR: &str = "/ktstr/bin";

/// Default for [`RunnerOptions::attach_timeout_s`].
pub const DEFAULT_ATTACH_TIMEOUT_S: u64 = 30;

/// What every run of a [`Runner`] shares.
#[derive(Debug, Clone, Default)]
pub struct RunnerOptions {
    /// Kernel: a cache id prefix, `debug`, a bzImage path; `None` for the
    /// newest cached kernel.
    pub kernel: Option<String>,
    /// The VM backend.
    pub backend: BackendChoice,
    /// Output adapter plugins to load besides the built-in and bundled ones.
    pub plugins: Vec<PathBuf>,
    /// The VM's `/init`.
    pub runtime: GuestRuntime,
    /// Guest memory in MiB (`None`: 256 per NUMA node, at least 512).
    pub memory_mib: Option<u32>,
    /// Seconds the scheduler may take to attach (`0`: [`DEFAULT_ATTACH_TIMEOUT_S`]).
    pub attach_timeout_s: u64,
    /// Where run records are stored.
    pub results: ResultsDir,
    /// Who starts the runs (recorded in each run record).
    pub origin: RunOrigin,
    /// A fault the guest runtime injects into itself in every run (ktstr's
    /// own fault tests; `None` otherwise).
    pub guest_fault: Option<ktstr_model::GuestFault>,
}

/// Where a [`Runner`] stores its run records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ResultsDir {
    /// [`ktstr_results::default_results_dir`]: `$KTSTR_RESULTS`, the cargo
    /// target directory's `ktstr/`, else `$XDG_DATA_HOME/ktstr/results`.
    #[default]
    Default,
    /// This directory.
    At(PathBuf),
    /// Nowhere: records are only returned.
    Off,
}

/// The kernel, VM backend and output adapters, opened once and used for
/// many runs.
pub struct Runner {
    kernel: BootKernel,
    backend: Box<dyn Backend>,
    registry: AdapterRegistry,
    options: RunnerOptions,
    warnings: Vec<String>,
    store: Option<Mutex<ResultsStore>>,
}

impl Runner {
    /// Resolves the kernel, opens the backend, loads the adapters.
    ///
    /// # Errors
    ///
    /// [`RunError::Kernel`] (no cached kernel, a bad id), [`RunError::Vm`]
    /// (no backend), [`RunError::Plugin`] (a plugin asked for that does not
    /// load), [`RunError::Results`] / [`RunError::NoResultsDir`] (the results
    /// store cannot be opened).
    pub fn open(options: RunnerOptions) -> Result<Self, RunError> {
        let kernel = BootKernel::resolve(options.kernel.as_deref())?;
        let backend = options.backend.open()?;
        let (registry, warnings) = crate::adapter_registry(&options.plugins)?;
        let store = match &options.results {
            ResultsDir::Off => None,
            ResultsDir::At(dir) => Some(ResultsStore::open(dir)?),
            ResultsDir::Default => Some(ResultsStore::open(
                ktstr_results::default_results_dir().ok_or(RunError::NoResultsDir)?,
            )?),
        };
        Ok(Runner {
            kernel,
            backend,
            registry,
            options,
            warnings,
            store: store.map(Mutex::new),
        })
    }

    /// The results directory records go to (`None`: [`ResultsDir::Off`]).
    pub fn results_dir(&self) -> Option<PathBuf> {
        let store = self.store.as_ref()?;
        let guard = store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(guard.dir().to_path_buf())
    }

    /// The kernel the runs boot.
    pub fn kernel(&self) -> &BootKernel {
        &self.kernel
    }

    /// The VM backend.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Bundled or `$KTSTR_ADAPTER_PATH` plugins that did not load.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Resolves a scheduler value against this runner's kernel (see
    /// [`crate::resolve_scheduler`]).
    ///
    /// # Errors
    ///
    /// As [`crate::resolve_scheduler`].
    pub fn scheduler(&self, value: &str) -> Result<SchedulerArg, RunError> {
        crate::scheduler::resolve(value, &self.kernel.resolved)
    }

    /// Boots a VM with `topology`, runs `scenario` under `scheduler` in it
    /// and judges the run.
    ///
    /// # Errors
    ///
    /// A [`RunError`] when no verdict could be reached: a payload binary
    /// that does not exist, a guest image that cannot be built, a VM that
    /// cannot start, Ctrl-C ([`RunError::Interrupted`]), a record that
    /// cannot be stored ([`RunError::Results`]). A run that was judged and
    /// failed is an `Ok` record that says so.
    pub fn run(
        &self,
        scenario: &Scenario,
        scheduler: &SchedulerArg,
        topology: Topology,
    ) -> Result<RunRecord, RunError> {
        let record = run_in_vm(self, scenario, scheduler, topology)?;
        if ktstr_vmm::stop_requested() {
            return Err(RunError::Interrupted);
        }
        if let Some(store) = &self.store {
            let guard = store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Err(source) = guard.save(&record) {
                return Err(RunError::NotStored {
                    record: Box::new(record),
                    source,
                });
            }
        }
        Ok(record)
    }
}

fn run_in_vm(
    runner: &Runner,
    scenario: &Scenario,
    sched: &SchedulerArg,
    topo: Topology,
) -> Result<RunRecord, RunError> {
    let started = SystemTime::now();
    let attach_timeout_s = match runner.options.attach_timeout_s {
        0 => DEFAULT_ATTACH_TIMEOUT_S,
        s => s,
    };
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
            attach_timeout_ms: attach_timeout_s.saturating_mul(1000),
        }
    });
    let plan = GuestPlan {
        topology: topo,
        task: GuestTask::Scenario {
            scenario: Box::new(scenario.clone()),
            scheduler: launch,
        },
        fault: runner.options.guest_fault,
    };
    // Boot and attach take seconds under TCG; the workload is bounded by the scenario.
    let timeout = Duration::from_millis(scenario.duration_ms.saturating_mul(3))
        .saturating_add(Duration::from_secs(90u64.saturating_add(attach_timeout_s)));
    let req = VmRequest {
        image: runner.kernel.image.clone(),
        plan,
        present: topo,
        memory_mib: runner.options.memory_mib,
        timeout,
        binaries,
        cmdline: KernelDetectors::for_scenario(scenario).cmdline(),
        backend: runner.backend.as_ref(),
        runtime: &runner.options.runtime,
    };
    let mut res = vm::run(req, &mut |_| {})?;
    let input = RunInput {
        scenario: scenario.clone(),
        scheduler: sched.label(),
        topology: topo.to_string(),
        // KVM inside an emulated host runs at emulation speed: judge it so.
        accel: ktstr_vmm::speed_class(res.outcome.accel),
        // Moved: a flooded run keeps up to the wire's budget, once.
        messages: std::mem::take(&mut res.outcome.messages),
        console: res.outcome.console.text(),
        vm_exit: vm_end(&res.outcome),
        wire_loss: res
            .outcome
            .wire
            .has_loss()
            .then(|| res.outcome.wire.to_string()),
    };
    let verdict = evaluate(&input);
    let judgement = payload_judge::judge(
        scenario,
        &input.messages,
        &runner.registry,
        &PluginExtractor::new(&runner.registry),
        llm_extract::wire_health(&res.outcome.wire),
    );
    // A scheduler is only judged on the topology it was asked to run on.
    let topology_mismatches = if res.hello.is_some() {
        res.topology.mismatches
    } else {
        Vec::new()
    };
    let (passed, failure) = record::outcome(&verdict, &topology_mismatches, &judgement.reports);
    let host = HostInfo::this_machine();
    Ok(RunRecord {
        schema: RUN_RECORD_SCHEMA,
        meta: RunMeta {
            id: new_run_id(started, &format!("{}/{}", host.hostname, scenario.name)),
            started_at: rfc3339(started),
            origin: runner.options.origin,
            scenario: scenario.name.clone(),
            scheduler: sched.label(),
            scheduler_build: scheduler_build(sched),
            topology: topo.to_string(),
            backend: res.outcome.backend.to_string(),
            accel: res.outcome.accel.to_string(),
            kernel: runner.kernel.id.clone(),
            kernel_build: runner
                .kernel
                .resolved
                .cached()
                .map(|k| KernelBuild {
                    version: Some(k.meta.version.clone()),
                    config_sha256: Some(k.meta.fragment_sha256.clone()),
                })
                .unwrap_or_default(),
            host,
        },
        passed,
        failure,
        wall_ms: res.outcome.wall.as_secs_f64() * 1e3,
        boot_ms: res.hello.as_ref().map(|h| h.boot_ns as f64 / 1e6),
        topology_mismatches,
        metrics: record::run_metrics(&verdict, &judgement.reports, scenario),
        timeline: ktstr_eval::Timeline::from_messages(&input.messages),
        verdict,
        payloads: judgement.reports,
        payload_findings: judgement.findings,
    })
}

/// Which scheduler binary a run used: name and crates.io version from its
/// label (`scx_bpfland@1.1.4`), the binary's hash, its source tree's commit.
fn scheduler_build(sched: &SchedulerArg) -> SchedulerBuild {
    let (name, version) = match sched.name.split_once('@') {
        Some((n, v)) => (n.to_string(), Some(v.to_string())),
        None => (sched.name.clone(), None),
    };
    SchedulerBuild {
        name,
        args: sched.args.clone(),
        version,
        sha256: sched.host_path.as_deref().and_then(file_sha256),
        commit: sched.host_path.as_deref().and_then(git_commit_of),
    }
}

/// One run, built up and started in one expression: the library's front door.
///
/// ```no_run
/// use ktstr_model::catalog;
/// use ktstr_runner::Run;
///
/// let record = Run::new(catalog::find("steady").unwrap())
///     .scheduler("scx_simple")
///     .topology("1,2,2,1".parse()?)
///     .run()?;
/// assert!(record.passed(), "{}", record.verdict.render_text());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Run {
    scenario: Scenario,
    scheduler: String,
    topology: Option<Topology>,
    options: RunnerOptions,
}

/// The topology a run uses when neither the run nor the scenario sets one.
pub const DEFAULT_TOPOLOGY: Topology = Topology {
    numa_nodes: 1,
    llcs: 2,
    cores_per_llc: 2,
    threads_per_core: 1,
};

impl Run {
    /// A run of `scenario` under the scheduler it names (EEVDF if none), on
    /// its own topology or [`DEFAULT_TOPOLOGY`].
    pub fn new(scenario: Scenario) -> Self {
        let scheduler = scenario
            .scheduler
            .clone()
            .unwrap_or_else(|| crate::EEVDF.to_owned());
        Run {
            scenario,
            scheduler,
            topology: None,
            options: RunnerOptions::default(),
        }
    }

    /// The scheduler: `eevdf`, `scx_simple`, `scx_bpfland@1.1.4`, a path,
    /// each optionally followed by arguments (`"scx_qmap -t 2"`).
    #[must_use]
    pub fn scheduler(mut self, value: impl Into<String>) -> Self {
        self.scheduler = value.into();
        self
    }

    /// The topology (overrides the scenario's own).
    #[must_use]
    pub fn topology(mut self, topology: Topology) -> Self {
        self.topology = Some(topology);
        self
    }

    /// The kernel: a cache id prefix, `debug`, or a bzImage path.
    #[must_use]
    pub fn kernel(mut self, kernel: impl Into<String>) -> Self {
        self.options.kernel = Some(kernel.into());
        self
    }

    /// Guest memory, MiB.
    #[must_use]
    pub fn memory_mib(mut self, mib: u32) -> Self {
        self.options.memory_mib = Some(mib);
        self
    }

    /// The VM backend.
    #[must_use]
    pub fn backend(mut self, backend: BackendChoice) -> Self {
        self.options.backend = backend;
        self
    }

    /// The VM's `/init` (the harness passes [`GuestRuntime::CurrentExe`]).
    #[must_use]
    pub fn guest_runtime(mut self, runtime: GuestRuntime) -> Self {
        self.options.runtime = runtime;
        self
    }

    /// Where the run record is stored (default: [`ResultsDir::Default`]).
    #[must_use]
    pub fn results(mut self, results: ResultsDir) -> Self {
        self.options.results = results;
        self
    }

    /// Who starts the run (the test harness says [`RunOrigin::Harness`]).
    #[must_use]
    pub fn origin(mut self, origin: RunOrigin) -> Self {
        self.options.origin = origin;
        self
    }

    /// Another output adapter plugin.
    #[must_use]
    pub fn plugin(mut self, path: impl AsRef<Path>) -> Self {
        self.options.plugins.push(path.as_ref().to_path_buf());
        self
    }

    /// The scenario this run will run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The topology this run will boot.
    pub fn chosen_topology(&self) -> Topology {
        self.topology
            .or(self.scenario.topology)
            .unwrap_or(DEFAULT_TOPOLOGY)
    }

    /// Validates the scenario, opens a [`Runner`] and runs.
    ///
    /// # Errors
    ///
    /// [`RunError::Scenario`] for a scenario that does not fit its topology,
    /// then as [`Runner::open`], [`Runner::scheduler`] and [`Runner::run`].
    pub fn run(self) -> Result<RunRecord, RunError> {
        let topology = self.chosen_topology();
        self.scenario.validate(&topology)?;
        let runner = Runner::open(self.options)?;
        let scheduler = runner.scheduler(&self.scheduler)?;
        runner.run(&self.scenario, &scheduler, topology)
    }
}
