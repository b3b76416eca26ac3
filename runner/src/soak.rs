//! Many short VMs back to back, watching this process for leaks
//! (`ktstr bench soak`): open file descriptors, threads, resident memory,
//! child processes, and files left in the VM run directory.

use std::path::Path;

use ktstr_model::{Scenario, Topology, WorkType};
use serde::Serialize;

use crate::{ResultsDir, RunError, Runner, RunnerOptions};

/// This process and its leftovers after some runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoakSample {
    /// Runs done so far.
    pub after_runs: u32,
    /// Open file descriptors of this process.
    pub fds: usize,
    /// Its threads.
    pub threads: usize,
    /// Its resident memory, MiB.
    pub rss_mib: f64,
    /// Child processes still alive (QEMU that was not reaped, say).
    pub children: usize,
    /// `ktstr-vm-*` entries in the VM run directory (`$KTSTR_RUN_DIR`, else
    /// `/dev/shm`): shared with other ktstr processes, so soak alone or with
    /// a run directory of its own.
    pub leftover_vm_dirs: usize,
}

/// The soak's samples and how much each figure grew from the first to the last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoakReport {
    /// Runs done.
    pub runs: u32,
    /// Runs that did not pass (they still count: a failing run must not leak either).
    pub failed_runs: u32,
    /// One sample before the first run and one after every `every` runs.
    pub samples: Vec<SoakSample>,
    /// Last minus first after warm-up (the sample after the first `every`
    /// runs, when there is a later one): fds.
    pub fd_growth: i64,
    /// Last minus first: threads.
    pub thread_growth: i64,
    /// Last minus first: RSS, MiB.
    pub rss_growth_mib: f64,
}

impl SoakReport {
    /// Whether nothing grew: no fd, thread, child or VM directory left over
    /// (RSS may settle by a few MiB as allocators warm up; `rss_limit_mib`).
    pub fn flat(&self, rss_limit_mib: f64) -> bool {
        let last = self.samples.last();
        self.fd_growth <= 0
            && self.thread_growth <= 0
            && self.rss_growth_mib <= rss_limit_mib
            && last.is_some_and(|s| s.children == 0 && s.leftover_vm_dirs == 0)
    }
}

/// Runs `runs` short steady scenarios (500 ms, EEVDF) through one [`Runner`],
/// sampling before the first and after every `every` runs; `each` hears each sample.
///
/// # Errors
///
/// As [`Runner::open`] and [`Runner::run`] (a run that could not be judged
/// ends the soak).
pub fn soak(
    topology: Topology,
    runs: u32,
    every: u32,
    options: RunnerOptions,
    each: &mut dyn FnMut(&SoakSample),
) -> Result<SoakReport, RunError> {
    let scenario = Scenario::builder("soak")
        .description("a short steady scenario, run many times to find leaks")
        .duration_ms(500)
        .cgroup("a", |c| c.workers(2, WorkType::Spin))
        .build();
    let runner = Runner::open(RunnerOptions {
        results: ResultsDir::Off,
        ..options
    })?;
    let sched = runner.scheduler(crate::EEVDF)?;
    let run_dir = ktstr_vmm::vm_run_base();
    let mut samples = vec![sample(0, &run_dir)];
    each(&samples[0]);
    let mut failed_runs = 0;
    for n in 1..=runs {
        let record = runner.run(&scenario, &sched, topology)?;
        if !record.passed() {
            failed_runs += 1;
        }
        if n % every.max(1) == 0 || n == runs {
            let s = sample(n, &run_dir);
            each(&s);
            samples.push(s);
        }
    }
    // The first runs warm things up (the initramfs cache, lazily opened
    // files): growth counts from the first sample after a run, when there
    // is a later one.
    let first = if samples.len() > 2 {
        &samples[1]
    } else {
        &samples[0]
    };
    let last = &samples[samples.len() - 1];
    Ok(SoakReport {
        runs,
        failed_runs,
        fd_growth: last.fds as i64 - first.fds as i64,
        thread_growth: last.threads as i64 - first.threads as i64,
        rss_growth_mib: last.rss_mib - first.rss_mib,
        samples,
    })
}

fn sample(after_runs: u32, run_dir: &Path) -> SoakSample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let count = |dir: &Path, keep: &dyn Fn(&str) -> bool| {
        std::fs::read_dir(dir).map_or(0, |d| {
            d.flatten()
                .filter(|e| keep(&e.file_name().to_string_lossy()))
                .count()
        })
    };
    let me = std::process::id().to_string();
    let children = std::fs::read_dir("/proc").map_or(0, |d| {
        d.flatten()
            .filter(|e| {
                std::fs::read_to_string(e.path().join("stat")).is_ok_and(|s| {
                    // pid (comm) state ppid ...: the comm may hold spaces.
                    s.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                        == Some(me.as_str())
                })
            })
            .count()
    });
    SoakSample {
        after_runs,
        fds: count(Path::new("/proc/self/fd"), &|_| true),
        threads: field("Threads:") as usize,
        rss_mib: field("VmRSS:") as f64 / 1024.0,
        children,
        leftover_vm_dirs: count(run_dir, &|n| n.starts_with("ktstr-vm-")),
    }
}
