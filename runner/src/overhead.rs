//! The harness's own cost: a short steady scenario against a bare boot,
//! interleaved so machine drift hits both alike (`ktstr bench overhead`).

use std::time::Duration;

use ktstr_model::{GuestPlan, GuestTask, Scenario, Topology, WorkType};
use ktstr_vmm::VmExit;
use serde::Serialize;

use crate::{BackendChoice, BootKernel, GuestRuntime, RunError, VmRequest};

/// Length of the steady workload compared against a bare boot, ms.
pub const WORKLOAD_MS: u64 = 2000;

/// The measurement, with medians and the ratio from one run on one backend.
#[derive(Debug, Serialize)]
pub struct OverheadReport {
    /// The backend (`qemu`, `kvm`).
    pub backend: &'static str,
    /// How vCPUs were executed.
    pub accel: String,
    /// The topology booted.
    pub topology: String,
    /// Pairs of runs.
    pub runs: u32,
    /// Each bare boot-and-poweroff, ms.
    pub bare_ms: Vec<f64>,
    /// Each steady-scenario run, ms.
    pub scenario_ms: Vec<f64>,
    /// Median of `bare_ms`.
    pub bare_median_ms: f64,
    /// Median of `scenario_ms`.
    pub scenario_median_ms: f64,
    /// scenario / (bare + [`WORKLOAD_MS`]); 1.0 means the harness adds nothing.
    pub ratio: f64,
    /// Peak resident memory of this process, MiB.
    pub host_peak_rss_mib: f64,
    /// Peak resident memory of the largest child (QEMU), MiB.
    pub vm_peak_rss_mib: f64,
}

/// Runs `runs` pairs (bare, scenario) on `topology`; `each(i, is_bare, ms)`
/// hears every run.
///
/// # Errors
///
/// As [`BootKernel::resolve`], [`BackendChoice::open`], [`crate::run_vm`];
/// [`RunError::Incomplete`] when a run did not complete.
pub fn overhead(
    topology: Topology,
    runs: u32,
    kernel: Option<&str>,
    backend: BackendChoice,
    each: &mut dyn FnMut(u32, bool, f64),
) -> Result<OverheadReport, RunError> {
    let kernel = BootKernel::resolve(kernel)?;
    let backend = backend.open()?;
    let steady = Scenario::builder("overhead-steady")
        .description("spinners for 2 s, the harness's cheapest real workload")
        .duration_ms(WORKLOAD_MS)
        .cgroup("a", |c| c.workers(topology.cpus(), WorkType::Spin))
        .build();
    let plans = [
        GuestTask::Boot,
        GuestTask::Scenario {
            scenario: Box::new(steady),
            scheduler: None,
        },
    ];
    let (mut bare, mut scen) = (Vec::new(), Vec::new());
    let mut accel = String::new();
    for i in 0..runs.saturating_mul(2) {
        let req = VmRequest {
            image: kernel.image.clone(),
            plan: GuestPlan {
                topology,
                task: plans[(i % 2) as usize].clone(),
                fault: None,
            },
            present: topology,
            memory_mib: None,
            timeout: Duration::from_secs(120),
            binaries: Vec::new(),
            cmdline: Vec::new(),
            backend: backend.as_ref(),
            runtime: &GuestRuntime::Beside,
        };
        let res = crate::run_vm(req, &mut |_| {})?;
        if res.outcome.exit != VmExit::Completed {
            return Err(RunError::Incomplete {
                what: format!("benchmark run {i}"),
                exit: format!("{:?}", res.outcome.exit),
            });
        }
        accel = res.outcome.accel.to_string();
        let ms = res.outcome.wall.as_secs_f64() * 1e3;
        let is_bare = i % 2 == 0;
        if is_bare { &mut bare } else { &mut scen }.push(ms);
        each(i / 2 + 1, is_bare, ms);
    }
    let (bm, sm) = (median(&bare), median(&scen));
    Ok(OverheadReport {
        backend: backend.name(),
        accel,
        topology: topology.to_string(),
        runs,
        bare_median_ms: bm,
        scenario_median_ms: sm,
        ratio: sm / (bm + WORKLOAD_MS as f64),
        bare_ms: bare,
        scenario_ms: scen,
        host_peak_rss_mib: peak_rss_mib(libc::RUSAGE_SELF),
        vm_peak_rss_mib: peak_rss_mib(libc::RUSAGE_CHILDREN),
    })
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn peak_rss_mib(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills a plain-data struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return 0.0;
    }
    ru.ru_maxrss as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_even_and_empty_sets() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        assert!(peak_rss_mib(libc::RUSAGE_SELF) > 0.0);
    }
}
