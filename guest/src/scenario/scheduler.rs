//! The scheduler under test: start it, see it attach, notice when it dies.

use std::fs::{self, File};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ktstr_model::SchedulerLaunch;
use ktstr_wire::SchedulerEvent;

use crate::boottime_ns;
use crate::error::{error_chain, GuestError};
use crate::kmsg::Kmsg;
use crate::sys;

const STATE: &str = "/sys/kernel/sched_ext/state";
const OPS: &str = "/sys/kernel/sched_ext/root/ops";
/// `1` when the scheduler took every fair-class task, `0` in partial mode.
const SWITCH_ALL: &str = "/sys/kernel/sched_ext/switch_all";
const LOG: &str = "/tmp/ktstr-scheduler.log";
/// Lines of the scheduler's own output kept as evidence.
const OUTPUT_TAIL: usize = 30;

/// A running scheduler.
pub(crate) struct Scheduler {
    child: Child,
    kmsg: Kmsg,
    sched_ext_lines: Vec<String>,
}

impl Scheduler {
    /// Starts the scheduler and waits until sched_ext reports it enabled.
    pub(crate) fn start(
        launch: &SchedulerLaunch,
    ) -> Result<(Scheduler, SchedulerEvent), SchedulerEvent> {
        let mut kmsg = Kmsg::open();
        let _ = kmsg.read_new(); // skip the boot log
        let started = boottime_ns();
        let log = File::create(LOG).and_then(|f| Ok((f.try_clone()?, f)));
        let mut cmd = Command::new(&launch.guest_path);
        cmd.args(&launch.args).stdin(Stdio::null());
        if let Ok((a, b)) = log {
            cmd.stdout(a).stderr(b);
        }
        let child = cmd.spawn().map_err(|source| {
            let e = GuestError::Start {
                program: launch.guest_path.clone(),
                source,
            };
            died(error_chain(&e), Vec::new(), None)
        })?;
        let mut s = Scheduler {
            child,
            kmsg,
            sched_ext_lines: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_millis(launch.attach_timeout_ms);
        loop {
            // Only an exit counts here: the state is `disabled` until it attaches.
            if let Some(ev) = s.check_exited() {
                return Err(ev);
            }
            let state = fs::read_to_string(STATE).unwrap_or_default();
            if state.trim() == "enabled" {
                let ops = fs::read_to_string(OPS)
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                let switch_all = fs::read_to_string(SWITCH_ALL)
                    .ok()
                    .and_then(|v| match v.trim() {
                        "1" => Some(true),
                        "0" => Some(false),
                        _ => None,
                    });
                let now = boottime_ns();
                return Ok((
                    s,
                    SchedulerEvent::Attached {
                        at_ns: now,
                        ops,
                        after_ns: now - started,
                        switch_all,
                    },
                ));
            }
            if Instant::now() > deadline {
                let reason = format!(
                    "did not attach within {} ms (sched_ext state: {})",
                    launch.attach_timeout_ms,
                    state.trim()
                );
                let ev = s.died_event(reason, None);
                s.kill();
                return Err(ev);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `Some(Died)` when the scheduler exited or the kernel disabled it.
    pub(crate) fn check(&mut self) -> Option<SchedulerEvent> {
        if let Some(ev) = self.check_exited() {
            return Some(ev);
        }
        let state = fs::read_to_string(STATE).unwrap_or_default();
        if state.trim() != "enabled" && state.trim() != "enabling" {
            let reason = self
                .kernel_reason()
                .unwrap_or_else(|| format!("sched_ext state is `{}`", state.trim()));
            return Some(self.died_event(reason, None));
        }
        None
    }

    /// `Some(Died)` when the scheduler process has exited.
    fn check_exited(&mut self) -> Option<SchedulerEvent> {
        self.collect_kmsg();
        let status = self.child.try_wait().ok()??;
        let code = status
            .code()
            .or_else(|| std::os::unix::process::ExitStatusExt::signal(&status).map(|s| 128 + s));
        let reason = self
            .kernel_reason()
            .unwrap_or_else(|| format!("scheduler exited ({status})"));
        Some(self.died_event(reason, code))
    }

    /// Stops the scheduler (SIGINT, then SIGKILL) and waits for the kernel to detach it.
    pub(crate) fn stop(mut self) {
        if sys::kill(self.child.id() as i32, libc::SIGINT).is_err() {
            // Our unreaped child can always be signalled; if not, it cannot
            // be asked to stop, only killed.
            self.kill();
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn collect_kmsg(&mut self) {
        let new = self.kmsg.read_new();
        self.sched_ext_lines
            .extend(new.into_iter().filter(|l| l.contains("sched_ext")));
    }

    /// The kernel's reason from `sched_ext: BPF scheduler "x" disabled (reason)`.
    fn kernel_reason(&mut self) -> Option<String> {
        self.collect_kmsg();
        self.sched_ext_lines.iter().rev().find_map(|l| {
            let (_, rest) = l.split_once(" disabled (")?;
            rest.rsplit_once(')').map(|(r, _)| r.to_string())
        })
    }

    fn died_event(&mut self, mut reason: String, exit_status: Option<i32>) -> SchedulerEvent {
        // Give the kernel and the scheduler a moment to print why.
        std::thread::sleep(Duration::from_millis(200));
        self.collect_kmsg();
        let output = output_tail();
        // The scheduler's own `EXIT: ...` line is the most precise reason there is.
        if let Some(exit) = output
            .iter()
            .rev()
            .find_map(|l| l.split_once("EXIT: ").map(|(_, r)| r.trim().to_string()))
        {
            reason = if exit.starts_with(&reason) {
                exit
            } else {
                format!("{reason}: {exit}")
            };
        }
        died(reason, self.sched_ext_lines.clone(), exit_status).with_output(output)
    }
}

fn output_tail() -> Vec<String> {
    let text = fs::read_to_string(LOG).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(OUTPUT_TAIL)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn died(reason: String, kernel_log: Vec<String>, exit_status: Option<i32>) -> SchedulerEvent {
    SchedulerEvent::Died {
        at_ns: boottime_ns(),
        reason,
        kernel_log,
        output: Vec::new(),
        exit_status,
    }
}

trait WithOutput {
    fn with_output(self, output: Vec<String>) -> Self;
}

impl WithOutput for SchedulerEvent {
    fn with_output(mut self, out: Vec<String>) -> Self {
        if let SchedulerEvent::Died { output, .. } = &mut self {
            *output = out;
        }
        self
    }
}
