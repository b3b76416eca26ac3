//! Running build commands with their output streamed as events, and the
//! per-build lock.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{BuildEvent, KernelError};

/// How many trailing output lines a [`KernelError::BuildFailed`] carries.
pub const TAIL_LINES: usize = 50;

/// Environment a user's shell may carry that would change what the kernel
/// or tools Makefiles do: another make's jobserver (from a parent make or
/// cargo), an output directory, a cross toolchain, extra compiler flags.
const SCRUBBED_ENV: &[&str] = &[
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKEOVERRIDES",
    "KBUILD_OUTPUT",
    "KCONFIG_CONFIG",
    "ARCH",
    "SUBARCH",
    "CROSS_COMPILE",
    "LLVM",
    "CC",
    "LD",
    "CFLAGS",
    "LDFLAGS",
    "EXTRA_CFLAGS",
];

/// A `make` command with a scrubbed environment and C locale messages.
pub(crate) fn make() -> Command {
    let mut cmd = Command::new("make");
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
    cmd.env("LC_ALL", "C");
    cmd
}

/// How often a build checks for a stop request while its command runs
/// quietly (a link step prints nothing for a minute) or while it waits for a lock.
const STOP_POLL: Duration = Duration::from_millis(100);
/// How long a stopped build's processes get to exit on SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(3);

/// Runs `cmd` to completion, sending each output line to `progress`.
///
/// stdout and stderr share one pipe, so lines keep the order the command
/// wrote them in: make's error message lands after the compiler output
/// that caused it, as in a terminal.
///
/// The command runs in a process group of its own and dies with this
/// process (`PR_SET_PDEATHSIG`). On a stop request
/// ([`ktstr_stop::request_stop`], the CLI's Ctrl-C) the whole group
/// (`make` and every compiler it started) gets SIGTERM, then SIGKILL after
/// a grace period, and is reaped before this returns.
///
/// # Errors
///
/// [`KernelError::Spawn`] if it cannot start, [`KernelError::BuildFailed`]
/// with the last [`TAIL_LINES`] lines if it exits unsuccessfully,
/// [`KernelError::Interrupted`] on a stop request.
pub fn run_streamed(
    stage: &str,
    mut cmd: Command,
    progress: &mut dyn FnMut(BuildEvent),
) -> Result<(), KernelError> {
    tracing::debug!(stage, command = ?cmd, "running");
    let program = cmd.get_program().to_string_lossy().into_owned();
    let spawn_error = |source| KernelError::Spawn {
        program: program.clone(),
        source,
    };
    let (reader, writer) = pipe().map_err(spawn_error)?;
    let writer2 = writer.try_clone().map_err(spawn_error)?;
    cmd.stdin(Stdio::null()).stdout(writer).stderr(writer2);
    ktstr_stop::own_group_dying_with_us(&mut cmd);
    // Stopped with its whole group if this function leaves early (a panic).
    let mut child = GroupChild(Some(cmd.spawn().map_err(spawn_error)?));
    // The command holds our copies of the write end; close them, or the
    // reader never sees end-of-file.
    drop(cmd);

    // Lines arrive on a thread so a quiet command does not keep us from
    // seeing a stop request.
    let (tx, rx) = mpsc::channel::<String>();
    let lines = std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        // A read error ends the output like EOF; the exit status still decides.
        while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
            // Lossy: compilers may quote non-UTF-8 source bytes.
            let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
            buf.clear();
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let interrupted = loop {
        if ktstr_stop::stop_requested() {
            break true;
        }
        match rx.recv_timeout(STOP_POLL) {
            Ok(line) => {
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line.clone());
                progress(BuildEvent::Line(line));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break false,
        }
    };
    if interrupted {
        drop(child);
        // Not joined: a process outside the group (a compiler cache's
        // daemon) may hold the pipe open for ever; the thread ends with it.
        drop(lines);
        return Err(KernelError::Interrupted {
            stage: stage.to_owned(),
        });
    }
    let _ = lines.join();
    let status = child.wait().map_err(spawn_error)?;
    if status.success() {
        return Ok(());
    }
    let mut text: Vec<String> = tail.into();
    text.push(format!("({stage}: {status})"));
    Err(KernelError::BuildFailed {
        stage: stage.to_owned(),
        tail: text.join("\n"),
    })
}

/// A child leading its own process group, stopped with the whole group
/// ([`stop_group`]) when dropped before it was waited for.
struct GroupChild(Option<Child>);

impl GroupChild {
    /// Waits for the child; the group is then no longer this guard's.
    fn wait(&mut self) -> io::Result<std::process::ExitStatus> {
        let mut child = self.0.take().expect("waited once");
        child.wait()
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            stop_group(&mut child);
        }
    }
}

/// SIGTERM to the child's process group, SIGKILL after [`TERM_GRACE`],
/// then reaps the child. Grandchildren that outlive it are in the same
/// group and get the same signals.
fn stop_group(child: &mut Child) {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + TERM_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) && !group_alive(pgid) {
            return;
        }
        std::thread::sleep(STOP_POLL);
    }
    signal_group(pgid, libc::SIGKILL);
    let _ = child.wait();
}

/// Sends `sig` to every process of group `pgid`; a group already gone is fine.
fn signal_group(pgid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals that process group; no pointers.
    let rc = unsafe { libc::kill(-pgid, sig) };
    if rc != 0 {
        tracing::debug!(pgid, sig, error = %io::Error::last_os_error(), "signal build group");
    }
}

/// Whether any process of group `pgid` still exists.
fn group_alive(pgid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the group exists; no pointers.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> io::Result<(File, OwnedFd)> {
    let mut fds: [libc::c_int; 2] = [-1, -1];
    // SAFETY: `fds` is a writable array of two ints, as pipe2(2) requires.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so fds[0] is an open descriptor nothing else owns.
    let read = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    // SAFETY: likewise for the write end, fds[1].
    let write = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    Ok((File::from(read), write))
}

/// Runs `cmd` and returns its trimmed stdout.
///
/// # Errors
///
/// [`KernelError::Spawn`] if it cannot start, [`KernelError::BuildFailed`]
/// with its stderr if it fails.
pub(crate) fn run_captured(stage: &str, mut cmd: Command) -> Result<String, KernelError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| KernelError::Spawn { program, source })?;
    if !output.status.success() {
        return Err(KernelError::BuildFailed {
            stage: stage.to_owned(),
            tail: String::from_utf8_lossy(&output.stderr)
                .trim_end()
                .to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// An exclusive lock on one cache id's build directory, so two processes
/// building the same kernel do not interleave makes in one tree. Released
/// when dropped (the kernel drops flock locks when the file closes, so a
/// crashed build never leaves a stale lock).
pub struct BuildLock {
    _file: File,
}

impl BuildLock {
    /// Takes the lock at `path` (created if missing), telling `progress`
    /// when it has to wait for another process that holds it.
    ///
    /// # Errors
    ///
    /// An I/O error creating or locking the file;
    /// [`KernelError::Interrupted`] on a stop request while waiting.
    pub fn acquire(
        path: &Path,
        progress: &mut dyn FnMut(BuildEvent),
    ) -> Result<BuildLock, KernelError> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(KernelError::io("create build lock", path))?;
        let try_lock = || flock(&file, libc::LOCK_EX | libc::LOCK_NB);
        if !try_lock().map_err(KernelError::io("lock", path))? {
            progress(BuildEvent::Stage(
                "wait for another build of this kernel".to_owned(),
            ));
            // Polled, not blocking, so Ctrl-C ends the wait.
            while !try_lock().map_err(KernelError::io("lock", path))? {
                if ktstr_stop::stop_requested() {
                    return Err(KernelError::Interrupted {
                        stage: "wait for another build".to_owned(),
                    });
                }
                std::thread::sleep(STOP_POLL);
            }
        }
        Ok(BuildLock { _file: file })
    }
}

/// `flock(2)`; `Ok(false)` if a non-blocking request would block.
fn flock(file: &File, operation: libc::c_int) -> io::Result<bool> {
    loop {
        // SAFETY: the descriptor is open for as long as `file` is borrowed,
        // and flock(2) takes no pointers.
        let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
        if rc == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(false),
            _ => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_carries_the_tail_and_status() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "for i in $(seq 1 80); do echo line $i; done; echo oops >&2; exit 3",
        ]);
        let mut lines = 0;
        let err = run_streamed("test stage", cmd, &mut |e| {
            if let BuildEvent::Line(_) = e {
                lines += 1;
            }
        })
        .unwrap_err();
        assert_eq!(lines, 81);
        let KernelError::BuildFailed { stage, tail } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(stage, "test stage");
        assert!(tail.contains("oops"), "{tail}");
        assert!(tail.contains("line 80"), "{tail}");
        assert!(!tail.contains("line 10\n"), "{tail}");
        assert!(tail.ends_with("(test stage: exit status: 3)"), "{tail}");
        assert!(err.to_string().starts_with("test stage failed"));
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = run_streamed("x", Command::new("/nonexistent/make"), &mut |_| {}).unwrap_err();
        assert!(matches!(err, KernelError::Spawn { .. }));
        assert!(err.to_string().contains("hint:"));
    }

    #[test]
    fn lock_is_exclusive_until_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        let held = BuildLock::acquire(&path, &mut |_| {}).unwrap();
        let other = File::options().write(true).open(&path).unwrap();
        assert!(!flock(&other, libc::LOCK_EX | libc::LOCK_NB).unwrap());
        drop(held);
        assert!(flock(&other, libc::LOCK_EX | libc::LOCK_NB).unwrap());
    }
}
