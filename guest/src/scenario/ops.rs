//! A step's operations.

use ktstr_model::Op;
use ktstr_wire::StepEvent;

use super::{placement, Run, SETTLE};
use crate::boottime_ns;
use crate::error::{error_chain, GuestError};

impl Run<'_> {
    /// Applies `ops` inside a transition phase, then opens a new stable phase.
    pub(super) fn apply_step(&mut self, index: u32, ops: &[Op]) -> StepEvent {
        self.bump_phase();
        let mut lines = Vec::new();
        let mut errors = Vec::new();
        let mut release = Vec::new();
        for op in ops {
            lines.push(describe(op));
            match self.apply(op) {
                Ok(slots) => release.extend(slots),
                Err(e) => errors.push(error_chain(&e)),
            }
        }
        self.release(&release);
        std::thread::sleep(SETTLE);
        self.bump_phase();
        StepEvent {
            index,
            at_ns: boottime_ns(),
            ops: lines,
            errors,
        }
    }

    /// Applies one op; returns the slots of workers it forked.
    fn apply(&mut self, op: &Op) -> Result<Vec<usize>, GuestError> {
        match op {
            Op::AddCgroup { cgroup } => self.add_cgroup(cgroup),
            Op::RemoveCgroup { name } => {
                let prefix = format!("{name}/");
                self.stop_workers(|w| w.current == *name || w.current.starts_with(&prefix));
                self.tree.remove(name)?;
                Ok(Vec::new())
            }
            Op::SetCpuset { cgroup, cpuset } => {
                let cpus = cpuset
                    .resolve(self.topo)
                    .map_err(|source| GuestError::Cpuset {
                        cgroup: cgroup.clone(),
                        source,
                    })?;
                self.tree.set_cpus(cgroup, &cpus).map(|_| Vec::new())
            }
            Op::ClearCpuset { cgroup } => self.tree.clear_cpus(cgroup).map(|_| Vec::new()),
            Op::SwapCpusets { a, b } => {
                let (ca, cb) = (self.tree.configured_cpus(a), self.tree.configured_cpus(b));
                // Widen first so neither write leaves a cgroup with no CPUs.
                let union: Vec<u32> = {
                    let mut u = [ca.clone(), cb.clone()].concat();
                    u.sort_unstable();
                    u.dedup();
                    u
                };
                self.tree.set_cpus(a, &union)?;
                self.tree.set_cpus(b, &ca)?;
                self.tree.set_cpus(a, &cb).map(|_| Vec::new())
            }
            Op::Spawn { cgroup, workers } => self.spawn_group(cgroup, workers),
            Op::Stop { cgroup } => {
                self.stop_workers(|w| w.current == *cgroup);
                Ok(Vec::new())
            }
            Op::MoveAll { from, to } => {
                for pid in self.tree.pids(from) {
                    self.tree.add_pid(to, pid)?;
                }
                for w in self.workers.iter_mut().filter(|w| w.current == *from) {
                    w.current = to.clone();
                }
                Ok(Vec::new())
            }
            Op::SetAffinity { cgroup, affinity } => {
                let allowed = self.tree.effective_cpus(cgroup);
                let targets: Vec<(i32, usize)> = self
                    .workers
                    .iter()
                    .filter(|w| w.current == *cgroup && !w.reaped)
                    .map(|w| (w.pid, w.ordinal))
                    .collect();
                for (pid, ordinal) in targets {
                    placement::apply_affinity(
                        pid,
                        *affinity,
                        ordinal,
                        &allowed,
                        self.topo,
                        &mut self.rng,
                    )?;
                }
                Ok(Vec::new())
            }
        }
    }
}

/// One line naming an op, for the step report.
fn describe(op: &Op) -> String {
    match op {
        Op::AddCgroup { cgroup } => format!("add cgroup `{}`", cgroup.name),
        Op::RemoveCgroup { name } => format!("remove cgroup `{name}`"),
        Op::SetCpuset { cgroup, cpuset } => format!("set cpuset of `{cgroup}` to {cpuset:?}"),
        Op::ClearCpuset { cgroup } => format!("clear cpuset of `{cgroup}`"),
        Op::SwapCpusets { a, b } => format!("swap cpusets of `{a}` and `{b}`"),
        Op::Spawn { cgroup, workers } => format!(
            "spawn {} {} in `{cgroup}`",
            workers.count,
            workers.work.name()
        ),
        Op::Stop { cgroup } => format!("stop workers of `{cgroup}`"),
        Op::MoveAll { from, to } => format!("move all tasks from `{from}` to `{to}`"),
        Op::SetAffinity { cgroup, affinity } => {
            format!("set affinity of `{cgroup}` to {affinity:?}")
        }
    }
}
