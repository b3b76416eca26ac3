//! Thin wrappers over the Linux calls the guest uses that std does not offer.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// CLOCK_MONOTONIC in nanoseconds (vDSO, cheap enough for every checkpoint).
pub(crate) fn mono_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC)
}

/// CPU time of the calling process, ns.
pub(crate) fn process_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec into a valid local.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The CPU the caller runs on.
pub(crate) fn current_cpu() -> u32 {
    // SAFETY: no arguments; returns -1 on error, mapped to 0.
    let c = unsafe { libc::sched_getcpu() };
    c.max(0) as u32
}

/// Waits while `*word == expected`, at most `timeout`.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a valid, aligned u32 in memory shared by the waiters; the
    // kernel only reads it. A spurious or timed-out return is handled by callers
    // re-checking the word.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
        );
    }
}

/// Wakes up to `n` waiters on `word`.
pub(crate) fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: as in `futex_wait`; FUTEX_WAKE does not dereference beyond the word.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n);
    }
}

/// Sets the CPU affinity of `pid` (0 = caller).
pub(crate) fn set_affinity(pid: i32, cpus: &[u32]) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET write within it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for &c in cpus {
            libc::CPU_SET(c as usize, &mut set);
        }
        libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets the scheduling policy of `pid` (priority 1 for FIFO/RR, 0 otherwise).
pub(crate) fn set_policy(pid: i32, policy: libc::c_int) -> std::io::Result<()> {
    let prio = if policy == libc::SCHED_FIFO || policy == libc::SCHED_RR {
        1
    } else {
        0
    };
    let param = libc::sched_param {
        sched_priority: prio,
    };
    // SAFETY: passes a pointer to a valid local sched_param.
    let rc = unsafe { libc::sched_setscheduler(pid, policy, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets the nice value of `pid`.
pub(crate) fn set_nice(pid: i32, nice: i32) -> std::io::Result<()> {
    // SAFETY: plain integer arguments.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, pid as libc::id_t, nice) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sleeps without being counted as lost progress by callers that pause their gap clock.
pub(crate) fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}
