//! The work types' loops. Each runs until its slot's stop flag is set and calls
//! a checkpoint after every unit of work.

use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ktstr_model::{Fault, WorkType};

use super::checkpoint::Checkpoint;
use super::sched_class::ClassSampler;
use super::shared::{next_random, Shared, Slot, MAX_WORKERS};
use super::{Role, WorkerSetup};
use crate::sys::{futex_wait, futex_wake, mono_ns, set_affinity, set_nice, set_policy, sleep_ms};

/// Arithmetic iterations per spin chunk: long enough that the checkpoint's own
/// cost is small, short enough (tens of µs) that gaps are measured finely.
const SPIN_CHUNK: u64 = 20_000;
/// Waits on partners wake up this often to check the stop flag.
const WAIT_SLICE: Duration = Duration::from_millis(50);

struct Ctx<'a> {
    shared: &'a Shared,
    /// This worker's slot index.
    index: usize,
    slot: &'a Slot,
    cp: Checkpoint,
    class: ClassSampler,
    fault: Option<Fault>,
    fault_done: bool,
    rng: u64,
}

impl Ctx<'_> {
    fn stopped(&self) -> bool {
        self.slot.stop.load(Ordering::Relaxed) != 0
    }

    /// Applies a due fault, then records progress (so a fault due at 0 ms
    /// strikes before the first unit of work).
    fn tick(&mut self, units: u64) {
        self.apply_fault();
        // Work interrupted by the stop request is not progress.
        if !self.stopped() {
            self.cp.tick(self.shared, self.slot, units);
            self.class.maybe_sample(self.slot);
        }
    }

    fn apply_fault(&mut self) {
        if self.fault_done {
            return;
        }
        match self.fault {
            Some(Fault::EscapeCpuset { after_ms })
                if self.cp.elapsed_ns() >= after_ms * 1_000_000 =>
            {
                self.fault_done = true;
                // A real escape: leave the cgroup and allow every CPU.
                let _ = std::fs::write(
                    "/sys/fs/cgroup/cgroup.procs",
                    std::process::id().to_string(),
                );
                let all: Vec<u32> = (0..crate::worker::shared::MAX_CPUS as u32).collect();
                let _ = set_affinity(0, &all);
            }
            Some(Fault::Freeze { after_ms, for_ms })
                if self.cp.elapsed_ns() >= after_ms * 1_000_000 =>
            {
                self.fault_done = true;
                // No checkpoint while frozen: the gap clock keeps running.
                let end = mono_ns() + for_ms * 1_000_000;
                while mono_ns() < end && !self.stopped() {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            _ => {}
        }
    }

    fn wake_sample(&mut self, stamp: u64) {
        let now = mono_ns();
        if stamp > 0 && now >= stamp {
            self.slot.add_wake(now - stamp, &mut self.rng);
        }
    }

    /// Sleeps `ms`, then counts the delay from the timer's expiry to running
    /// again as a wake-up latency and as part of the next progress gap.
    fn timed_sleep_ms(&mut self, ms: u64) {
        let due = mono_ns() + ms * 1_000_000;
        sleep_ms(ms);
        self.wake_sample(due);
        self.cp.resume_from(due);
    }
}

pub(super) fn run(shared: &Shared, setup: &WorkerSetup) {
    let slot = shared.slot(setup.slot);
    let mut cx = Ctx {
        shared,
        index: setup.slot,
        slot,
        cp: Checkpoint::start(slot),
        class: ClassSampler::start(slot),
        fault: setup.fault.clone(),
        fault_done: false,
        rng: 0x9E37_79B9_7F4A_7C15 ^ (setup.slot as u64 + 1),
    };
    match (&setup.work, setup.role) {
        (WorkType::Spin, _) => spin_loop(&mut cx, |_| {}),
        (WorkType::Yield, _) => {
            while !cx.stopped() {
                // SAFETY: no arguments.
                unsafe { libc::sched_yield() };
                cx.tick(1);
            }
        }
        (WorkType::Mixed { spin_us }, _) => {
            let spin_ns = spin_us * 1000;
            while !cx.stopped() {
                let end = mono_ns() + spin_ns;
                while mono_ns() < end {
                    spin_chunk(SPIN_CHUNK / 10);
                }
                // SAFETY: no arguments.
                unsafe { libc::sched_yield() };
                cx.tick(1);
            }
        }
        (
            WorkType::Bursty {
                burst_ms,
                sleep_ms: nap,
            },
            _,
        ) => {
            while !cx.stopped() {
                let end = mono_ns() + burst_ms * 1_000_000;
                while mono_ns() < end && !cx.stopped() {
                    spin_chunk(SPIN_CHUNK);
                    cx.tick(1);
                }
                cx.timed_sleep_ms(*nap);
            }
        }
        (WorkType::SyncIo { block_kb }, _) => sync_io(&mut cx, *block_kb as usize * 1024),
        (WorkType::Custom { name }, _) => custom(&mut cx, name),
        (
            WorkType::PipePingPong,
            Role::PairFirst {
                peer,
                pipes: Some((tx, rx)),
            },
        ) => pipe_pair(&mut cx, peer, tx, rx, true),
        (
            WorkType::PipePingPong,
            Role::PairSecond {
                peer,
                pipes: Some((tx, rx)),
            },
        ) => pipe_pair(&mut cx, peer, tx, rx, false),
        (WorkType::FutexPingPong, Role::PairFirst { peer, .. }) => {
            futex_pair(&mut cx, setup.slot, peer, true)
        }
        (WorkType::FutexPingPong, Role::PairSecond { peer, .. }) => {
            futex_pair(&mut cx, peer, peer, false)
        }
        (WorkType::FutexFanOut { .. }, Role::Waker) => fan_out_waker(&mut cx),
        (WorkType::FutexFanOut { .. }, Role::Wakee { waker }) => fan_out_wakee(&mut cx, waker),
        (WorkType::CachePressure { wss_kb, stride }, _) => {
            cache_pressure(&mut cx, *wss_kb as usize * 1024, (*stride).max(1) as usize)
        }
        (WorkType::ForkExit, _) => {
            while !cx.stopped() {
                // SAFETY: this worker is single-threaded; the child only `_exit`s.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    // SAFETY: ends the short-lived child immediately.
                    unsafe { libc::_exit(0) };
                }
                if pid > 0 {
                    let mut st = 0;
                    // SAFETY: reaps the child just forked; `st` is a valid local.
                    unsafe { libc::waitpid(pid, &mut st, 0) };
                }
                cx.tick(1);
            }
        }
        (WorkType::NiceSweep, _) => {
            let mut n = 0i32;
            spin_loop(&mut cx, |i| {
                if i % 50 == 0 {
                    n = (n + 1) % 16;
                    let _ = set_nice(0, n - 5);
                }
            })
        }
        (WorkType::AffinityChurn, _) => {
            let allowed = allowed_cpus();
            let mut k = 0usize;
            spin_loop(&mut cx, |i| {
                if i % 20 == 0 && !allowed.is_empty() {
                    k = (k + 1) % allowed.len();
                    let _ = set_affinity(0, &[allowed[k]]);
                }
            })
        }
        (WorkType::PolicyChurn, _) => {
            let policies = [
                libc::SCHED_OTHER,
                libc::SCHED_BATCH,
                libc::SCHED_IDLE,
                libc::SCHED_FIFO,
                libc::SCHED_RR,
            ];
            let mut k = 0usize;
            spin_loop(&mut cx, |i| {
                if i % 50 == 0 {
                    k = (k + 1) % policies.len();
                    let _ = set_policy(0, policies[k]);
                }
            })
        }
        (WorkType::PageFaultChurn, _) => page_faults(&mut cx),
        // Pair types without a partner (validation prevents it): just spin.
        _ => spin_loop(&mut cx, |_| {}),
    }
    // A worker stuck until the end has an open gap; close it.
    cx.cp.finish(slot);
    cx.class.sample(slot);
}

fn spin_chunk(n: u64) -> u64 {
    let mut x = black_box(1u64);
    for i in 0..n {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
    }
    black_box(x)
}

fn spin_loop(cx: &mut Ctx<'_>, mut every: impl FnMut(u64)) {
    let mut i = 0u64;
    while !cx.stopped() {
        spin_chunk(SPIN_CHUNK);
        cx.tick(1);
        every(i);
        i += 1;
    }
}

fn allowed_cpus() -> Vec<u32> {
    // SAFETY: cpu_set_t is plain data, filled by the kernel for the caller.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..crate::worker::shared::MAX_CPUS)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .map(|c| c as u32)
            .collect()
    }
}

/// Runs the registered custom worker `name`, then leaves its metrics for the
/// controller. An unknown name ends the worker with exit code 3, which its
/// report shows.
fn custom(cx: &mut Ctx<'_>, name: &str) {
    let Some(f) = super::custom::lookup(name) else {
        eprintln!("ktstr-guest: no custom worker `{name}` is registered (#[ktstr::worker])");
        std::process::exit(3);
    };
    let slot = cx.index;
    let cell = std::cell::RefCell::new(cx);
    let mut tick = |units| cell.borrow_mut().tick(units);
    let stopped = || cell.borrow().stopped();
    let mut worker = super::custom::CustomWorker {
        tick: &mut tick,
        stopped: &stopped,
        metrics: Vec::new(),
    };
    f(&mut worker);
    let text: String = worker
        .metrics
        .iter()
        .map(|(n, v)| format!("{n}\t{v}\n"))
        .collect();
    let _ = std::fs::write(super::custom::metrics_path(slot), text);
}

/// The scratch disk the host attaches for `sync_io` workers.
const SCRATCH_DISK: &str = "/dev/vda";

fn sync_io(cx: &mut Ctx<'_>, block: usize) {
    let block = block.max(512);
    match scratch_region(cx.index, block) {
        Some((disk, start, len)) => disk_io(cx, &disk, start, len, block),
        None => tmpfs_io(cx, block),
    }
}

/// This worker's region of the scratch disk: `(file, start, length)`, each
/// worker its own 1/MAX_WORKERS of it. `None` without a disk.
fn scratch_region(index: usize, block: usize) -> Option<(std::fs::File, u64, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    let sectors: u64 = std::fs::read_to_string("/sys/block/vda/size")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let len = sectors * 512 / MAX_WORKERS as u64;
    if len < block as u64 {
        return None;
    }
    let disk = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DSYNC)
        .open(SCRATCH_DISK)
        .ok()?;
    Some((disk, index as u64 * len, len))
}

/// Synchronous writes to the disk: each returns once the device has the data,
/// so the worker really blocks and is woken by the I/O completion.
fn disk_io(cx: &mut Ctx<'_>, disk: &std::fs::File, start: u64, len: u64, block: usize) {
    use std::os::unix::fs::FileExt;
    let buf = vec![0x5au8; block];
    let slots = (len / block as u64).max(1);
    let mut n = 0u64;
    while !cx.stopped() {
        let _ = disk.write_all_at(&buf, start + (n % slots) * block as u64);
        n += 1;
        cx.tick(1);
    }
}

/// Without a scratch disk (the own KVM VMM has no block device): fsync'd
/// writes to tmpfs, which exercise the syscalls but never block.
fn tmpfs_io(cx: &mut Ctx<'_>, block: usize) {
    let path = format!("/tmp/ktstr-io-{}", std::process::id());
    let Ok(mut f) = std::fs::File::create(&path) else {
        return spin_loop(cx, |_| {});
    };
    let buf = vec![0x5au8; block];
    let mut writes = 0u32;
    while !cx.stopped() {
        let _ = f.write_all(&buf).and_then(|_| f.sync_data());
        writes += 1;
        if writes.is_multiple_of(64) {
            let _ = f.set_len(0);
        }
        cx.tick(1);
    }
    let _ = std::fs::remove_file(path);
}

/// Waits for a byte on `rx`, waking every slice to check the stop flag.
fn read_byte(cx: &Ctx<'_>, rx: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd: rx,
        events: libc::POLLIN,
        revents: 0,
    };
    while !cx.stopped() {
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, WAIT_SLICE.as_millis() as i32) };
        if n > 0 {
            let mut b = [0u8; 1];
            // SAFETY: reads at most one byte into a valid local buffer.
            return unsafe { libc::read(rx, b.as_mut_ptr().cast(), 1) } == 1;
        }
    }
    false
}

fn pipe_pair(cx: &mut Ctx<'_>, peer: usize, tx: i32, rx: i32, first: bool) {
    let peer_slot = cx.shared.slot(peer);
    let send = |cx: &Ctx<'_>| {
        peer_slot.wake_stamp.store(mono_ns(), Ordering::Relaxed);
        // SAFETY: writes one byte from a valid local.
        unsafe { libc::write(tx, [1u8].as_ptr().cast(), 1) };
        let _ = cx;
    };
    if first {
        send(cx);
    }
    while !cx.stopped() {
        if !read_byte(cx, rx) {
            break;
        }
        let stamp = cx.slot.wake_stamp.load(Ordering::Relaxed);
        cx.wake_sample(stamp);
        cx.tick(1);
        send(cx);
    }
}

/// Futex pair: the word in the first worker's slot says whose turn it is
/// (0 = first, 1 = second).
fn futex_pair(cx: &mut Ctx<'_>, word_slot: usize, peer: usize, first: bool) {
    let word = &cx.shared.slot(word_slot).futex;
    let peer_slot = cx.shared.slot(peer);
    let (mine, theirs) = if first { (0, 1) } else { (1, 0) };
    while !cx.stopped() {
        let cur = word.load(Ordering::Acquire);
        if cur != mine {
            futex_wait(word, cur, WAIT_SLICE);
            continue;
        }
        let stamp = cx.slot.wake_stamp.load(Ordering::Relaxed);
        cx.wake_sample(stamp);
        cx.tick(1);
        peer_slot.wake_stamp.store(mono_ns(), Ordering::Relaxed);
        word.store(theirs, Ordering::Release);
        futex_wake(word, 1);
    }
}

/// The waker bumps a sequence number in its slot and wakes every waiter, once
/// per ms. Before waking, it marks each of its wakees that has consumed its
/// last wake with the time of this one, so a wakee delayed across many wakes
/// measures from the first wake it missed, not from the latest.
fn fan_out_waker(cx: &mut Ctx<'_>) {
    let me = cx.index as u32 + 1;
    let mut wakees: Vec<usize> = Vec::new();
    let mut rounds = 0u32;
    while !cx.stopped() {
        // Wakees register as they start; look for new ones now and then.
        if rounds.is_multiple_of(100) {
            wakees = (0..MAX_WORKERS)
                .filter(|&i| cx.shared.slot(i).waits_on.load(Ordering::Relaxed) == me)
                .collect();
        }
        rounds = rounds.wrapping_add(1);
        let now = mono_ns();
        for &i in &wakees {
            // Only if none is pending: the oldest unconsumed wake counts.
            let _ = cx.shared.slot(i).wake_pending_since.compare_exchange(
                0,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        cx.slot.futex.fetch_add(1, Ordering::Release);
        futex_wake(&cx.slot.futex, i32::MAX);
        cx.tick(1);
        cx.timed_sleep_ms(1);
    }
}

fn fan_out_wakee(cx: &mut Ctx<'_>, waker: usize) {
    let w = cx.shared.slot(waker);
    cx.slot.waits_on.store(waker as u32 + 1, Ordering::Relaxed);
    let mut seen = w.futex.load(Ordering::Acquire);
    while !cx.stopped() {
        futex_wait(&w.futex, seen, WAIT_SLICE);
        let now = w.futex.load(Ordering::Acquire);
        if now != seen {
            seen = now;
            let since = cx.slot.wake_pending_since.swap(0, Ordering::Relaxed);
            cx.wake_sample(since);
            cx.tick(1);
        } else {
            // No wake this slice; the waker may be starved. Not our progress.
            cx.cp.resume();
        }
    }
}

fn cache_pressure(cx: &mut Ctx<'_>, wss: usize, stride: usize) {
    let mut buf = vec![0u8; wss.max(4096)];
    let mut i = 0usize;
    while !cx.stopped() {
        for _ in 0..4096 {
            buf[i] = buf[i].wrapping_add(1);
            i += stride;
            if i >= buf.len() {
                i = (i + 1) % stride.min(buf.len());
            }
        }
        black_box(&buf);
        cx.tick(1);
    }
}

fn page_faults(cx: &mut Ctx<'_>) {
    const LEN: usize = 1 << 20;
    while !cx.stopped() {
        // SAFETY: a fresh private anonymous mapping, touched within bounds, then unmapped.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p != libc::MAP_FAILED {
                let bytes = p.cast::<u8>();
                for off in (0..LEN).step_by(4096) {
                    bytes.add(off).write_volatile(1);
                }
                libc::munmap(p, LEN);
            }
        }
        cx.tick(1);
        let _ = next_random(&mut cx.rng);
    }
}
