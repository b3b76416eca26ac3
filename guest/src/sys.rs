//! Thin wrappers over the Linux calls the guest uses that std does not offer.
//!
//! One call per `unsafe` block, its result checked right after: a failure
//! comes back as an [`io::Error`] carrying the errno. The few calls that
//! cannot fail on Linux with the arguments given here (a clock that always
//! exists, `sched_yield`, a futex on a valid word) say so in a debug
//! assertion, as parking_lot does for its futex calls: they sit in the
//! workers' hot loops, and there is nothing to report.

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// The result of a call that returns -1 and sets errno on failure.
fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// As [`cvt`], for calls that return a byte count (`ssize_t`).
fn cvt_len(rc: isize) -> io::Result<usize> {
    usize::try_from(rc).map_err(|_| io::Error::last_os_error())
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

// ---- clocks and the current CPU ------------------------------------------

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
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    // Fails only for an unknown clock; both clocks used here always exist.
    debug_assert_eq!(
        rc,
        0,
        "clock_gettime({clock}): {}",
        io::Error::last_os_error()
    );
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The CPU the caller runs on.
pub(crate) fn current_cpu() -> u32 {
    // SAFETY: no arguments.
    let c = unsafe { libc::sched_getcpu() };
    // -1 (no vDSO support, which a 6.x x86 guest has) reads as CPU 0.
    c.max(0) as u32
}

/// Sleeps without being counted as lost progress by callers that pause their gap clock.
pub(crate) fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

// ---- futexes ---------------------------------------------------------------

/// Waits while `*word == expected`, at most `timeout`. Callers re-check the
/// word: a return says nothing about why the wait ended.
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a valid, aligned u32 in memory shared by the waiters; the
    // kernel only reads it and the local timespec.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
        )
    };
    // EAGAIN (the word had already changed), ETIMEDOUT and EINTR are ordinary
    // ends of a wait; anything else would be a bad argument here.
    debug_assert!(
        rc == 0 || matches!(errno(), libc::EAGAIN | libc::ETIMEDOUT | libc::EINTR),
        "FUTEX_WAIT: {}",
        io::Error::last_os_error()
    );
}

/// Wakes up to `n` waiters on `word`.
pub(crate) fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: as in `futex_wait`; FUTEX_WAKE does not dereference beyond the word.
    let rc = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n) };
    // FUTEX_WAKE fails only on a bad address or operation (EFAULT, EINVAL).
    debug_assert!(rc >= 0, "FUTEX_WAKE: {}", io::Error::last_os_error());
}

// ---- scheduling --------------------------------------------------------------

/// An empty CPU set.
fn empty_cpu_set() -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is an array of integers; all zeroes is the empty set.
    unsafe { std::mem::zeroed() }
}

/// CPUs a `cpu_set_t` can name.
const CPU_SETSIZE: usize = libc::CPU_SETSIZE as usize;

/// Sets the CPU affinity of `pid` (0 = caller). CPUs past `CPU_SETSIZE` are
/// left out, as glibc's `CPU_SET` does.
pub(crate) fn set_affinity(pid: i32, cpus: &[u32]) -> io::Result<()> {
    let mut set = empty_cpu_set();
    for c in cpus
        .iter()
        .map(|&c| c as usize)
        .filter(|&c| c < CPU_SETSIZE)
    {
        // SAFETY: sets one bit inside `set`; `c` is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: the kernel reads one cpu_set_t from the valid local.
    let rc = unsafe { libc::sched_setaffinity(pid, std::mem::size_of_val(&set), &set) };
    cvt(rc).map(drop)
}

/// The CPUs `pid` (0 = caller) may run on.
pub(crate) fn affinity(pid: i32) -> io::Result<Vec<u32>> {
    let mut set = empty_cpu_set();
    // SAFETY: the kernel writes at most one cpu_set_t into the valid local.
    let rc = unsafe { libc::sched_getaffinity(pid, std::mem::size_of_val(&set), &mut set) };
    cvt(rc)?;
    let cpus = (0..CPU_SETSIZE)
        .filter(|&c| {
            // SAFETY: reads one bit inside `set`; `c` is below CPU_SETSIZE.
            unsafe { libc::CPU_ISSET(c, &set) }
        })
        .map(|c| c as u32)
        .collect();
    Ok(cpus)
}

/// Sets the scheduling policy of `pid` (priority 1 for FIFO/RR, 0 otherwise).
pub(crate) fn set_policy(pid: i32, policy: libc::c_int) -> io::Result<()> {
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
    cvt(rc).map(drop)
}

/// Sets the nice value of `pid`.
pub(crate) fn set_nice(pid: i32, nice: i32) -> io::Result<()> {
    // SAFETY: plain integer arguments.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, pid as libc::id_t, nice) };
    cvt(rc).map(drop)
}

/// Gives up the CPU to another runnable task, if any.
pub(crate) fn yield_cpu() {
    // SAFETY: no arguments.
    let rc = unsafe { libc::sched_yield() };
    // Linux's sched_yield always succeeds.
    debug_assert_eq!(rc, 0, "sched_yield: {}", io::Error::last_os_error());
}

// ---- processes -----------------------------------------------------------------

/// Which side of a [`fork`] the caller is on.
pub(crate) enum Forked {
    /// The new process.
    Child,
    /// The calling process; the child's pid.
    Parent(i32),
}

/// Forks the calling process.
///
/// # Safety
/// The caller must be single-threaded (the child gets only the calling thread,
/// and a lock another thread held stays held forever in it), and the child must
/// not return into code that believes it is the parent: it ends with
/// [`exit_now`] (or an exec).
pub(crate) unsafe fn fork() -> io::Result<Forked> {
    // SAFETY: the caller upholds the conditions above.
    let pid = unsafe { libc::fork() };
    match cvt(pid)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// Ends the calling process now, without destructors, atexit handlers or
/// stdio flushing (in a forked child those belong to the parent).
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: no pointers; `_exit` does not return.
    unsafe { libc::_exit(code) }
}

/// Waits for the child `pid` to end; its wait status.
pub(crate) fn wait_child(pid: i32) -> io::Result<i32> {
    loop {
        if let Some(status) = waitpid(pid, 0)? {
            return Ok(status);
        }
    }
}

/// The wait status of the child `pid` if it has ended (reaping it), else `None`.
pub(crate) fn try_wait_child(pid: i32) -> io::Result<Option<i32>> {
    waitpid(pid, libc::WNOHANG)
}

/// `waitpid`, retried when a signal interrupts it; `None` when WNOHANG found
/// the child still running.
fn waitpid(pid: i32, flags: libc::c_int) -> io::Result<Option<i32>> {
    let mut status = 0;
    loop {
        // SAFETY: the kernel writes the status into a valid local.
        let rc = unsafe { libc::waitpid(pid, &mut status, flags) };
        match cvt(rc) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(status)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Sends `signal` to `pid`.
pub(crate) fn kill(pid: i32, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: plain integer arguments.
    let rc = unsafe { libc::kill(pid, signal) };
    cvt(rc).map(drop)
}

/// Flushes every filesystem's dirty data to its device.
pub(crate) fn sync() {
    // SAFETY: no arguments, no result: sync cannot fail.
    unsafe { libc::sync() };
}

/// Powers the machine off; returns only when that fails, with why.
pub(crate) fn reboot_power_off() -> io::Error {
    // SAFETY: no pointers; on success the machine is off and this never returns.
    let rc = unsafe { libc::reboot(libc::RB_POWER_OFF) };
    debug_assert_eq!(rc, -1, "reboot returned without powering off");
    io::Error::last_os_error()
}

// ---- file descriptors ------------------------------------------------------------

/// Opens `path` for writing. Allocates nothing, so a payload's pre-exec hook
/// (a forked child) may call it.
pub(crate) fn open_write(path: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated and outlives the call.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY) };
    let fd = cvt(fd)?;
    // SAFETY: `fd` was just opened here and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Closes `fd`, reporting what `OwnedFd`'s drop would swallow (on a cgroup
/// file, a write the kernel refused late).
pub(crate) fn close(fd: OwnedFd) -> io::Result<()> {
    let raw: RawFd = fd.into_raw_fd();
    // SAFETY: `raw` came from an OwnedFd that gave it up; it is closed once.
    let rc = unsafe { libc::close(raw) };
    // No retry on EINTR: Linux has closed the descriptor either way.
    cvt(rc).map(drop)
}

/// Writes from `buf` once (a short write is the caller's to handle); retried
/// when a signal interrupts it.
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: the kernel reads at most `buf.len()` bytes from `buf`.
        let rc = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
        match cvt_len(rc) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Reads into `buf` once (0 at end of file); retried when a signal interrupts it.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
        let rc = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match cvt_len(rc) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Waits up to `timeout` for `fd` to have something to read (or an error or
/// hang-up to report, which the read then returns). `false` when the time
/// ran out or a signal ended the wait early.
pub(crate) fn poll_readable(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: the kernel reads and updates one valid local pollfd.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    match cvt(rc) {
        Ok(n) => Ok(n > 0),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
        Err(e) => Err(e),
    }
}

/// Puts a terminal in raw mode, so bytes pass unaltered (no `\n` → `\r\n`).
pub(crate) fn set_raw_mode(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: termios is integers and arrays of them; all zeroes is a valid
    // value, overwritten by tcgetattr below.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes one termios into the valid local.
    let rc = unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) };
    cvt(rc)?;
    // SAFETY: edits the valid local termios only; it cannot fail.
    unsafe { libc::cfmakeraw(&mut t) };
    // SAFETY: the kernel reads one termios from the valid local.
    let rc = unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &t) };
    cvt(rc).map(drop)
}

// ---- memory mappings -----------------------------------------------------------

/// A readable and writable memory mapping, unmapped on drop, or by
/// [`Mapping::unmap`], which reports a failure.
pub(crate) struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    /// Zero-filled memory shared with the caller's later forks.
    pub(crate) fn shared_anonymous(len: usize) -> io::Result<Mapping> {
        Self::map(len, libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1, 0)
    }

    /// Zero-filled memory of the caller's own.
    pub(crate) fn private_anonymous(len: usize) -> io::Result<Mapping> {
        Self::map(len, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    }

    /// `len` bytes of `file` from `offset`, shared (a device BAR, physical memory).
    pub(crate) fn shared_file(file: &File, offset: u64, len: usize) -> io::Result<Mapping> {
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        Self::map(len, libc::MAP_SHARED, file.as_raw_fd(), offset)
    }

    fn map(len: usize, flags: libc::c_int, fd: RawFd, offset: libc::off_t) -> io::Result<Mapping> {
        // SAFETY: a new mapping at a kernel-chosen address, aliasing no Rust object.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }

    /// The first byte; valid for [`len`](Self::len) bytes while `self` lives.
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// The mapping's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Writes a byte every `stride` bytes, faulting in each page of fresh memory.
    pub(crate) fn touch(&mut self, stride: usize) {
        for off in (0..self.len).step_by(stride.max(1)) {
            // SAFETY: `off < len`, inside the writable mapping; volatile so the
            // store, and with it the page fault, is not optimised away.
            unsafe { self.ptr.add(off).write_volatile(1) };
        }
    }

    /// Unmaps now, reporting a failure that a drop could not.
    pub(crate) fn unmap(self) -> io::Result<()> {
        let this = ManuallyDrop::new(self);
        // SAFETY: unmaps exactly the region mapped in `map`, once: `this` is
        // not dropped.
        let rc = unsafe { libc::munmap(this.ptr.cast(), this.len) };
        cvt(rc).map(drop)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region mapped in `map`, once.
        let rc = unsafe { libc::munmap(self.ptr.cast(), self.len) };
        // Unmapping a whole mapping made here fails only on bad arguments, and
        // a drop has no one to tell.
        debug_assert_eq!(rc, 0, "munmap: {}", io::Error::last_os_error());
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn the_affinity_set_is_the_affinity_read() {
        let mine = affinity(0).unwrap();
        assert!(!mine.is_empty());
        set_affinity(0, &mine).unwrap();
        assert_eq!(affinity(0).unwrap(), mine);
    }

    #[test]
    fn a_forked_child_is_reaped_with_its_exit_code() {
        // SAFETY: the child only calls `_exit`, which is async-signal-safe, so
        // the test harness's other threads do not matter to it.
        match unsafe { fork() }.unwrap() {
            Forked::Child => exit_now(7),
            Forked::Parent(pid) => {
                let st = wait_child(pid).unwrap();
                assert!(libc::WIFEXITED(st));
                assert_eq!(libc::WEXITSTATUS(st), 7);
                let e = wait_child(pid).unwrap_err();
                assert_eq!(e.raw_os_error(), Some(libc::ECHILD));
            }
        }
    }

    #[test]
    fn a_byte_crosses_a_pipe_and_an_empty_one_times_out() {
        let (r, w) = std::io::pipe().unwrap();
        let (r, w) = (OwnedFd::from(r), OwnedFd::from(w));
        assert!(!poll_readable(r.as_fd(), Duration::from_millis(1)).unwrap());
        assert_eq!(write(w.as_fd(), &[9]).unwrap(), 1);
        assert!(poll_readable(r.as_fd(), Duration::from_millis(1000)).unwrap());
        let mut b = [0u8; 1];
        assert_eq!(read(r.as_fd(), &mut b).unwrap(), 1);
        assert_eq!(b, [9]);
        close(w).unwrap();
        assert_eq!(read(r.as_fd(), &mut b).unwrap(), 0);
    }

    #[test]
    fn a_bad_descriptor_is_an_error_not_a_byte() {
        let (r, _w) = std::io::pipe().unwrap();
        let r = OwnedFd::from(r);
        let e = write(r.as_fd(), &[1]).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn a_private_mapping_is_touched_and_unmapped() {
        let mut m = Mapping::private_anonymous(64 << 10).unwrap();
        assert_eq!(m.len(), 64 << 10);
        m.touch(4096);
        // SAFETY: the mapping is 64 KiB, readable, and was just written.
        assert_eq!(unsafe { m.as_ptr().add(4096).read() }, 1);
        m.unmap().unwrap();
    }
}
