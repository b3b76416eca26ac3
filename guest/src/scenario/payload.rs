//! Payloads in the guest: start a benchmark binary (in a cgroup), collect its
//! output into files, enforce its timeout, and report what it printed.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ktstr_model::Payload;
use ktstr_wire::PayloadResult;

use crate::error::{error_chain, GuestError};
use crate::sys;

/// Output kept per stream; the frame limit is 1 MiB.
const STDOUT_KEEP: u64 = 256 << 10;
const STDERR_KEEP: u64 = 64 << 10;

/// A payload that is running.
pub(crate) struct RunningPayload {
    invocation: u32,
    name: String,
    child: Child,
    started: Instant,
    deadline: Instant,
    out: String,
    err: String,
    output_file: Option<String>,
}

/// Starts payload `invocation`; a start failure is returned as a finished result.
pub(crate) fn start(
    invocation: u32,
    p: &Payload,
    cgroup_procs: Option<String>,
) -> Result<RunningPayload, Box<PayloadResult>> {
    let out = format!("/tmp/ktstr-payload-{invocation}.out");
    let err = format!("/tmp/ktstr-payload-{invocation}.err");
    let failed = |e: GuestError| {
        Box::new(PayloadResult {
            invocation,
            name: p.name.clone(),
            error: Some(error_chain(&e)),
            ..PayloadResult::default()
        })
    };
    // Append mode: payloads that reopen their own output (cyclictest writes its
    // JSON report through a second descriptor) must not overwrite each other.
    let open = |path: &str| {
        // A file left from an earlier invocation is gone or cannot be; `open`
        // below reports the latter.
        let _ = std::fs::remove_file(path);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(GuestError::file("create the payload's output file", path))
    };
    let (fo, fe) = match (open(&out), open(&err)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Err(failed(e)),
    };
    let mut cmd = Command::new(&p.binary);
    cmd.args(&p.args)
        .stdin(Stdio::null())
        .stdout(fo)
        .stderr(fe)
        .current_dir("/tmp");
    if let Some(path) = cgroup_procs {
        let path =
            CString::new(path.clone()).map_err(|_| failed(GuestError::NulInPath { path }))?;
        let join_cgroup = move || {
            let fd = sys::open_write(&path)?;
            // Writing 0 moves the writing process itself.
            let written = sys::write(fd.as_fd(), b"0");
            let closed = sys::close(fd);
            match written? {
                1 => closed,
                _ => Err(std::io::ErrorKind::WriteZero.into()),
            }
        };
        // SAFETY: the hook runs in the forked child before exec and only makes
        // async-signal-safe calls (open/write/close) on memory prepared before
        // the fork; it allocates nothing.
        unsafe { cmd.pre_exec(join_cgroup) };
    }
    let child = cmd.spawn().map_err(|source| {
        failed(GuestError::Start {
            program: p.binary.clone(),
            source,
        })
    })?;
    let started = Instant::now();
    Ok(RunningPayload {
        invocation,
        name: p.name.clone(),
        child,
        started,
        deadline: started + Duration::from_millis(p.timeout_ms),
        out,
        err,
        output_file: p.output_file.clone(),
    })
}

impl RunningPayload {
    /// The result once the payload has ended (killing it past its deadline).
    pub(crate) fn poll(&mut self) -> Option<PayloadResult> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(self.result(status.code(), status.signal(), false)),
            Ok(None) if Instant::now() >= self.deadline => {
                let _ = self.child.kill();
                let status = self.child.wait().ok();
                Some(self.result(None, status.and_then(|s| s.signal()), true))
            }
            Ok(None) => None,
            Err(e) => {
                let mut r = self.result(None, None, false);
                let e = GuestError::syscall("wait for the payload", "waitpid")(e);
                r.error = Some(error_chain(&e));
                Some(r)
            }
        }
    }

    /// Kills the payload now (the run is ending) and returns its result.
    pub(crate) fn kill(mut self) -> PayloadResult {
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        self.result(
            status.and_then(|s| s.code()),
            status.and_then(|s| s.signal()),
            true,
        )
    }

    fn result(
        &self,
        exit_code: Option<i32>,
        signal: Option<i32>,
        timed_out: bool,
    ) -> PayloadResult {
        let (mut stdout, mut a) = read_bounded(&self.out, STDOUT_KEEP);
        let (mut stderr, b) = read_bounded(&self.err, STDERR_KEEP);
        if let Some(file) = &self.output_file {
            // The results file is the output; what was printed becomes context.
            let (text, cut) = read_bounded(file, STDOUT_KEEP);
            stderr = format!("{stdout}{stderr}");
            (stdout, a) = (text, cut);
            let _ = std::fs::remove_file(file);
        }
        let _ = std::fs::remove_file(&self.out);
        let _ = std::fs::remove_file(&self.err);
        PayloadResult {
            invocation: self.invocation,
            name: self.name.clone(),
            stdout,
            stderr,
            exit_code,
            signal,
            wall_ns: self.started.elapsed().as_nanos() as u64,
            timed_out,
            truncated_bytes: a + b,
            error: None,
        }
    }
}

/// The first `keep` bytes of a file as text, and how many bytes were cut.
fn read_bounded(path: &str, keep: u64) -> (String, u64) {
    let Ok(f) = File::open(path) else {
        return (String::new(), 0);
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let mut buf = Vec::new();
    let _ = f.take(keep).read_to_end(&mut buf);
    (
        String::from_utf8_lossy(&buf).into_owned(),
        len.saturating_sub(keep),
    )
}
