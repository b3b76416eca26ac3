//! Running a scenario in the guest: cgroups, workers, steps, the scheduler's
//! liveness, and the reports.

mod cgroup;
mod ops;
mod payload;
mod placement;
mod sampler;
mod scheduler;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ktstr_model::{
    CgroupSpec, Hold, PayloadStart, Scenario, SchedulerLaunch, Topology, WorkerGroup,
};
use ktstr_wire::{Message, PhaseEvent, WorkerReport};

use crate::boottime_ns;
use crate::error::GuestError;
use crate::sys;
use crate::worker::{self, Shared, WorkerSetup};
use crate::WireOut;
use cgroup::CgroupTree;
use scheduler::Scheduler;

/// How often the controller checks the scheduler and reaps workers.
const POLL: Duration = Duration::from_millis(50);
/// Time for tasks to migrate after a cpuset change before the phase is judged.
const SETTLE: Duration = Duration::from_millis(30);
/// How long stopping workers may take before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// One forked worker, as the controller tracks it.
struct Worker {
    slot: usize,
    pid: i32,
    declared: String,
    current: String,
    group: WorkerGroup,
    ordinal: usize,
    status: Option<String>,
    reaped: bool,
    run_ns: u64,
    delay_ns: u64,
    timeslices: u64,
}

/// The controller's state during a run.
pub(crate) struct Run<'a> {
    shared: Shared,
    tree: CgroupTree,
    workers: Vec<Worker>,
    topo: &'a Topology,
    phase: u32,
    rng: u64,
    payloads: Vec<payload::RunningPayload>,
    sampler: sampler::Sampler,
}

/// Runs `scenario` under `launch` (or EEVDF) and sends every event over `wire`.
pub(crate) fn run(
    wire: &mut WireOut,
    scenario: &Scenario,
    topo: &Topology,
    launch: Option<&SchedulerLaunch>,
) -> Result<(), GuestError> {
    let shared = Shared::new().map_err(GuestError::syscall(
        "map the workers' shared memory",
        "mmap",
    ))?;
    let tree = CgroupTree::new()?;
    let mut sched = match launch {
        None => None,
        Some(l) => match Scheduler::start(l) {
            Ok((s, ev)) => {
                wire.send(&Message::Scheduler(ev));
                Some(s)
            }
            Err(ev) => {
                wire.send(&Message::Scheduler(ev));
                return Ok(());
            }
        },
    };
    let mut run = Run {
        shared,
        tree,
        workers: Vec::new(),
        topo,
        phase: 0,
        rng: 0x2545_F491_4F6C_DD1D,
        payloads: Vec::new(),
        sampler: sampler::Sampler::new(Duration::from_millis(scenario.duration_ms)),
    };
    let mut pending = Vec::new();
    for c in &scenario.cgroups {
        pending.extend(run.add_cgroup(c)?);
    }
    run.emit_phase(wire);
    run.release(&pending);
    run.start_payloads(scenario, |s| s == PayloadStart::AtStart, wire);

    let duration = Duration::from_millis(scenario.duration_ms);
    let end = Instant::now() + duration;
    let mut alive = true;
    'steps: for (i, step) in scenario.steps.iter().enumerate() {
        let (times, every) = match step.hold {
            Hold::Repeat { every_ms, times } => (times, Duration::from_millis(every_ms)),
            Hold::Fraction(f) => (1, duration.mul_f64(f.clamp(0.0, 1.0))),
            Hold::Ms(ms) => (1, Duration::from_millis(ms)),
        };
        for rep in 0..times {
            if Instant::now() >= end {
                break 'steps;
            }
            let ev = run.apply_step(i as u32, &step.ops);
            wire.send(&Message::Step(ev));
            run.emit_phase(wire);
            if rep == 0 {
                run.start_payloads(scenario, |s| s == PayloadStart::AtStep(i), wire);
            }
            alive = run.wait(
                Instant::now() + every.min(end.saturating_duration_since(Instant::now())),
                sched.as_mut(),
                wire,
            );
            if !alive {
                break 'steps;
            }
        }
    }
    if alive {
        run.wait(end, sched.as_mut(), wire);
    }
    run.stop_all();
    run.finish_payloads(alive, sched.as_mut(), wire);
    // A last look before the stop: a scheduler that died in the final poll
    // interval (or while the workers were stopped) must not pass.
    if alive {
        if let Some(ev) = sched.as_mut().and_then(|s| s.check()) {
            wire.send(&Message::Scheduler(ev));
        }
    }
    for r in run.reports() {
        wire.send(&Message::Worker(r));
    }
    if let Some(s) = sched {
        s.stop();
    }
    Ok(())
}

impl Run<'_> {
    /// Creates a cgroup with its cpuset and forks its workers (gates closed).
    /// Returns the slots to release.
    fn add_cgroup(&mut self, c: &CgroupSpec) -> Result<Vec<usize>, GuestError> {
        self.tree.create(&c.name)?;
        if let Some(spec) = &c.cpuset {
            let cpus = spec
                .resolve(self.topo)
                .map_err(|source| GuestError::Cpuset {
                    cgroup: c.name.clone(),
                    source,
                })?;
            self.tree.set_cpus(&c.name, &cpus)?;
        }
        let mut slots = Vec::new();
        for g in &c.workers {
            slots.extend(self.spawn_group(&c.name, g)?);
        }
        Ok(slots)
    }

    /// Forks a worker group into `cgroup` and places each worker; gates stay closed.
    fn spawn_group(&mut self, cgroup: &str, g: &WorkerGroup) -> Result<Vec<usize>, GuestError> {
        let first = self.workers.len();
        let count = g.count as usize;
        if first + count > worker::shared::MAX_WORKERS {
            return Err(GuestError::TooManyWorkers {
                cgroup: cgroup.to_string(),
                count,
                max: worker::shared::MAX_WORKERS,
            });
        }
        let roles = placement::roles(&g.work, first, count).map_err(GuestError::syscall(
            "create the pipes of pipe pairs",
            "pipe",
        ))?;
        let allowed = self.tree.effective_cpus(cgroup);
        let mut slots = Vec::with_capacity(count);
        for (ordinal, role) in roles.into_iter().enumerate() {
            let slot = first + ordinal;
            let setup = WorkerSetup {
                slot,
                work: g.work.clone(),
                role,
                fault: g.fault.clone(),
            };
            let pid = worker::spawn(&self.shared, setup)
                .map_err(GuestError::syscall("fork a worker", "fork"))?;
            self.workers.push(Worker {
                slot,
                pid,
                declared: cgroup.to_string(),
                current: cgroup.to_string(),
                group: g.clone(),
                ordinal,
                status: None,
                reaped: false,
                run_ns: 0,
                delay_ns: 0,
                timeslices: 0,
            });
            self.tree.add_pid(cgroup, pid)?;
            placement::apply_policy(pid, g)?;
            placement::apply_affinity(
                pid,
                g.affinity,
                ordinal,
                &allowed,
                self.topo,
                &mut self.rng,
            )?;
            slots.push(slot);
        }
        Ok(slots)
    }

    /// Starts the scenario's payloads whose start matches.
    fn start_payloads(
        &mut self,
        scenario: &Scenario,
        when: impl Fn(PayloadStart) -> bool,
        wire: &mut WireOut,
    ) {
        for (i, p) in scenario
            .payloads
            .iter()
            .enumerate()
            .filter(|(_, p)| when(p.start))
        {
            let procs = p.cgroup.as_ref().map(|c| self.tree.procs_path(c));
            match payload::start(i as u32, p, procs) {
                Ok(running) => self.payloads.push(running),
                Err(result) => {
                    wire.send(&Message::Payload(*result));
                }
            }
        }
    }

    /// Sends the results of payloads that have ended.
    fn poll_payloads(&mut self, wire: &mut WireOut) {
        let mut i = 0;
        while i < self.payloads.len() {
            if let Some(r) = self.payloads[i].poll() {
                wire.send(&Message::Payload(r));
                self.payloads.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Waits for running payloads up to their deadlines (or kills them at once
    /// when the scheduler died), sending each result.
    fn finish_payloads(
        &mut self,
        alive: bool,
        mut sched: Option<&mut Scheduler>,
        wire: &mut WireOut,
    ) {
        let mut alive = alive;
        while alive && !self.payloads.is_empty() {
            self.poll_payloads(wire);
            if let Some(s) = sched.as_deref_mut() {
                if let Some(ev) = s.check() {
                    wire.send(&Message::Scheduler(ev));
                    alive = false;
                }
            }
            std::thread::sleep(POLL);
        }
        for p in self.payloads.drain(..) {
            wire.send(&Message::Payload(p.kill()));
        }
    }

    fn release(&self, slots: &[usize]) {
        for &s in slots {
            worker::release(&self.shared, s);
        }
    }

    /// Moves to the next phase (odd: transition, even: stable).
    fn bump_phase(&mut self) {
        self.phase += 1;
        self.shared
            .header()
            .phase
            .store(self.phase, Ordering::Relaxed);
    }

    fn emit_phase(&self, wire: &mut WireOut) {
        let cpusets = self
            .tree
            .names()
            .iter()
            .map(|n| (n.clone(), self.tree.effective_cpus(n)))
            .collect();
        let mut members: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for w in self
            .workers
            .iter()
            .filter(|w| !w.reaped && self.shared.slot(w.slot).stop.load(Ordering::Relaxed) == 0)
        {
            members
                .entry(w.current.clone())
                .or_default()
                .push(w.slot as u32);
        }
        wire.send(&Message::Phase(PhaseEvent {
            index: self.phase,
            at_ns: boottime_ns(),
            cpusets,
            members: members.into_iter().collect(),
        }));
    }

    /// Waits until `until`, checking the scheduler and reaping workers. Returns
    /// false when the scheduler died.
    fn wait(
        &mut self,
        until: Instant,
        mut sched: Option<&mut Scheduler>,
        wire: &mut WireOut,
    ) -> bool {
        loop {
            self.poll_workers();
            self.poll_payloads(wire);
            let live = self
                .workers
                .iter()
                .filter(|w| !w.reaped)
                .map(|w| (w.slot as u32, w.slot));
            self.sampler
                .maybe_sample(&self.shared, self.phase, live, wire);
            if let Some(s) = sched.as_deref_mut() {
                if let Some(ev) = s.check() {
                    wire.send(&Message::Scheduler(ev));
                    return false;
                }
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep(POLL.min(until - now));
        }
    }

    /// Samples schedstat of live workers and reaps the ones that exited.
    fn poll_workers(&mut self) {
        for w in self.workers.iter_mut().filter(|w| !w.reaped) {
            if let Some((run, delay, slices)) = schedstat(w.pid) {
                w.run_ns = run;
                w.delay_ns = delay;
                w.timeslices = slices;
            }
            match sys::try_wait_child(w.pid) {
                Ok(None) => {}
                Ok(Some(st)) => {
                    w.reaped = true;
                    w.status = describe_status(st, w.slot);
                }
                // Not our child any more (cannot happen while we reap only
                // here): waiting again would fail the same way.
                Err(e) => {
                    w.reaped = true;
                    w.status = Some(format!("could not be waited for: {e}"));
                }
            }
        }
    }

    /// Stops the given workers and waits for them (kills stragglers).
    fn stop_workers(&mut self, which: impl Fn(&Worker) -> bool) {
        let chosen: Vec<usize> = self
            .workers
            .iter()
            .enumerate()
            .filter(|(_, w)| which(w))
            .map(|(i, _)| i)
            .collect();
        for &i in &chosen {
            let s = self.shared.slot(self.workers[i].slot);
            s.stop.store(1, Ordering::Relaxed);
            crate::sys::futex_wake(&s.go, 1);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline && chosen.iter().any(|&i| !self.workers[i].reaped) {
            self.poll_workers();
            std::thread::sleep(Duration::from_millis(10));
        }
        for &i in &chosen {
            let w = &mut self.workers[i];
            if !w.reaped {
                let killed = sys::kill(w.pid, libc::SIGKILL).and_then(|()| sys::wait_child(w.pid));
                w.reaped = true;
                w.status = Some(match killed {
                    Ok(_) => format!(
                        "did not stop within {} s and was killed",
                        STOP_GRACE.as_secs()
                    ),
                    Err(e) => format!(
                        "did not stop within {} s and could not be killed: {e}",
                        STOP_GRACE.as_secs()
                    ),
                });
            }
        }
    }

    fn stop_all(&mut self) {
        self.stop_workers(|_| true);
    }

    fn reports(&self) -> Vec<WorkerReport> {
        self.workers
            .iter()
            .map(|w| {
                let s = self.shared.slot(w.slot);
                let start = s.start_ns.load(Ordering::Relaxed);
                let end = s.end_ns.load(Ordering::Relaxed);
                WorkerReport {
                    cgroup: w.declared.clone(),
                    index: w.slot as u32,
                    pid: w.pid,
                    work: w.group.work.name().to_string(),
                    work_units: s.work_units.load(Ordering::Relaxed),
                    cpu_ns: s.cpu_ns.load(Ordering::Relaxed).max(w.run_ns),
                    wall_ns: end.saturating_sub(start),
                    max_gap_ns: s.max_gap_ns.load(Ordering::Relaxed),
                    max_gap_cpu: s.max_gap_cpu.load(Ordering::Relaxed) as u32,
                    max_gap_at_ns: s.max_gap_at_ns.load(Ordering::Relaxed),
                    migrations: s.migrations.load(Ordering::Relaxed),
                    cpus_by_phase: s.cpus_by_phase(),
                    wake_latencies_ns: s.wake_samples(),
                    run_delay_ns: w.delay_ns,
                    timeslices: w.timeslices,
                    metrics: crate::worker::custom::take_metrics(w.slot),
                    died: w.status.clone(),
                    started_ns: start,
                    ext_samples_on: s.ext_on.load(Ordering::Relaxed),
                    ext_samples_off: s.ext_off.load(Ordering::Relaxed),
                    ext_samples_unknown: s.ext_unknown.load(Ordering::Relaxed),
                }
            })
            .collect()
    }
}

/// `/proc/<pid>/schedstat`: time on CPU and time runnable-but-waiting (ns),
/// and how many times the task was put on a CPU.
fn schedstat(pid: i32) -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    let mut it = text.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// `None` for a clean exit, else what ended the worker in `slot`, with the
/// error it left when it stopped on one.
fn describe_status(st: i32, slot: usize) -> Option<String> {
    if libc::WIFEXITED(st) {
        match libc::WEXITSTATUS(st) {
            0 => None,
            101 => Some("worker panicked (exit 101)".into()),
            c => Some(match worker::take_error(slot) {
                Some(e) => format!("exited with code {c}: {e}"),
                None => format!("exited with code {c}"),
            }),
        }
    } else if libc::WIFSIGNALED(st) {
        Some(format!("killed by signal {}", libc::WTERMSIG(st)))
    } else {
        Some(format!("ended with wait status {st:#x}"))
    }
}
