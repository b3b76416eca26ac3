//! Turning a worker group's declaration into processes in place: slots, roles,
//! cgroup membership, policy, nice and affinity.

use std::os::fd::{IntoRawFd, OwnedFd, RawFd};

use ktstr_model::{AffinityMode, Policy, Topology, WorkType, WorkerGroup};

use crate::error::GuestError;
use crate::sys::{set_affinity, set_nice, set_policy};
use crate::worker::shared::{next_random, MAX_CPUS};
use crate::worker::Role;

/// Roles for `count` workers of `work`, whose slots start at `first_slot`; also
/// creates the pipes pipe pairs need (file descriptors inherited by the forks).
pub(crate) fn roles(
    work: &WorkType,
    first_slot: usize,
    count: usize,
) -> std::io::Result<Vec<Role>> {
    let mut out = Vec::with_capacity(count);
    match work {
        WorkType::PipePingPong | WorkType::FutexPingPong => {
            for k in (0..count).step_by(2) {
                let a = first_slot + k;
                if k + 1 >= count {
                    out.push(Role::Solo);
                    break;
                }
                let pipes = if matches!(work, WorkType::PipePingPong) {
                    let (ab_r, ab_w) = pipe()?;
                    let (ba_r, ba_w) = pipe()?;
                    (Some((ab_w, ba_r)), Some((ba_w, ab_r)))
                } else {
                    (None, None)
                };
                out.push(Role::PairFirst {
                    peer: a + 1,
                    pipes: pipes.0,
                });
                out.push(Role::PairSecond {
                    peer: a,
                    pipes: pipes.1,
                });
            }
        }
        WorkType::FutexFanOut { wakees } => {
            let group = *wakees as usize + 1;
            for k in 0..count {
                let leader = first_slot + k - k % group;
                out.push(if k % group == 0 {
                    Role::Waker
                } else {
                    Role::Wakee { waker: leader }
                });
            }
        }
        _ => out.resize(count, Role::Solo),
    }
    Ok(out)
}

/// A pipe's read and write ends, left open for the rest of the run: the
/// workers forked after it inherit them, and the controller's copies keep a
/// pair's pipe from reaching end of file when one partner exits.
fn pipe() -> std::io::Result<(RawFd, RawFd)> {
    let (r, w) = std::io::pipe()?;
    Ok((
        OwnedFd::from(r).into_raw_fd(),
        OwnedFd::from(w).into_raw_fd(),
    ))
}

/// `SCHED_EXT` from `include/uapi/linux/sched.h` (6.12); the libc crate does
/// not define it. With no sched_ext scheduler attached the kernel runs such a
/// task in the fair class.
const SCHED_EXT: libc::c_int = 7;

/// Applies policy and nice to a placed worker.
pub(crate) fn apply_policy(pid: i32, group: &WorkerGroup) -> Result<(), GuestError> {
    let policy = match group.policy {
        Policy::Normal => libc::SCHED_OTHER,
        Policy::Batch => libc::SCHED_BATCH,
        Policy::Idle => libc::SCHED_IDLE,
        Policy::Fifo => libc::SCHED_FIFO,
        Policy::Rr => libc::SCHED_RR,
        Policy::SchedExt => SCHED_EXT,
    };
    if policy != libc::SCHED_OTHER {
        set_policy(pid, policy).map_err(|source| GuestError::SetPolicy {
            pid,
            policy: group.policy,
            source,
        })?;
    }
    if group.nice != 0
        && matches!(
            group.policy,
            Policy::Normal | Policy::Batch | Policy::SchedExt
        )
    {
        set_nice(pid, group.nice).map_err(|source| GuestError::SetNice {
            pid,
            nice: group.nice,
            source,
        })?;
    }
    Ok(())
}

/// Applies an affinity mode to the `ordinal`-th worker of a group whose cgroup
/// allows `allowed`.
pub(crate) fn apply_affinity(
    pid: i32,
    mode: AffinityMode,
    ordinal: usize,
    allowed: &[u32],
    topo: &Topology,
    rng: &mut u64,
) -> Result<(), GuestError> {
    if allowed.is_empty() {
        return Ok(());
    }
    let cpus: Vec<u32> = match mode {
        AffinityMode::Inherit => return Ok(()),
        AffinityMode::SingleCpu => vec![allowed[ordinal % allowed.len()]],
        AffinityMode::RandomSubset => {
            let mut pool = allowed.to_vec();
            let keep = pool.len().div_ceil(2);
            // Partial Fisher-Yates: the first `keep` are a uniform random subset.
            for i in 0..keep {
                let j = i + (next_random(rng) as usize) % (pool.len() - i);
                pool.swap(i, j);
            }
            pool.truncate(keep);
            pool
        }
        AffinityMode::LlcAligned => {
            let mut llcs: Vec<u32> = allowed.iter().map(|&c| topo.place(c).llc).collect();
            llcs.dedup();
            let llc = llcs[ordinal % llcs.len()];
            allowed
                .iter()
                .copied()
                .filter(|&c| topo.place(c).llc == llc)
                .collect()
        }
        AffinityMode::CrossCgroup => (0..MAX_CPUS as u32).collect(),
    };
    set_affinity(pid, &cpus).map_err(|source| GuestError::SetAffinity { pid, mode, source })
}
