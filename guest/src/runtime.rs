//! PID 1's main line.

use std::sync::Mutex;

use ktstr_model::{GuestPlan, GuestTask, PLAN_PATH};
use ktstr_wire::{Done, Hello, LogLine, Message, ObservedDetectors};

use crate::error::{error_chain, GuestError};
use crate::{boottime_ns, mounts, observe_topology, power, WireOut};

/// Runs the guest runtime and powers the VM off. Never returns.
pub fn run_as_init() -> ! {
    let mount_errors = mounts::mount_all();
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let wire_kind = cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("ktstr.wire="))
        .unwrap_or("ivshmem")
        .to_string();
    let (mut wire, notes) = WireOut::open(&wire_kind);
    std::panic::set_hook(Box::new(remember_panic));
    // A panic in the runtime is a result too: the host gets the final
    // message with the panic's text, not a kernel panic for killing init.
    let run = std::panic::AssertUnwindSafe(|| {
        run(&mut wire, mount_errors.into_iter().chain(notes).collect())
    });
    let error = match std::panic::catch_unwind(run) {
        Ok(result) => result.err().map(|e| error_chain(&e)),
        Err(_) => Some(take_panic()),
    };
    if std::process::id() != 1 {
        // A forked child that unwound this far must not end the VM.
        crate::sys::exit_now(101);
    }
    if let Some(e) = &error {
        eprintln!("ktstr-guest: {e}");
    }
    let done = Done {
        at_ns: boottime_ns(),
        ring_drops: wire.dropped(),
        error,
    };
    wire.send(&Message::Done(done));
    power::power_off()
}

fn run(wire: &mut WireOut, notes: Vec<String>) -> Result<(), GuestError> {
    let hello = Hello {
        kernel_release: kernel_release(),
        boot_ns: boottime_ns(),
        topology: observe_topology(),
        sched_ext: std::path::Path::new("/sys/kernel/sched_ext").is_dir(),
        sched_ext_state: std::fs::read_to_string("/sys/kernel/sched_ext/state")
            .ok()
            .map(|s| s.trim().to_string()),
        detectors: observe_detectors(),
    };
    wire.send(&Message::Hello(hello));
    for text in notes {
        wire.send(&Message::Log(LogLine {
            at_ns: boottime_ns(),
            text,
        }));
    }
    let bytes = std::fs::read(PLAN_PATH).map_err(GuestError::file("read the plan", PLAN_PATH))?;
    let plan = GuestPlan::from_bytes(&bytes).map_err(|e| GuestError::DecodePlan {
        path: PLAN_PATH,
        source: e.into(),
    })?;
    if let Some(fault) = plan.fault {
        crate::fault::inject(fault, wire);
    }
    match &plan.task {
        GuestTask::Boot => Ok(()),
        GuestTask::Scenario {
            scenario,
            scheduler,
        } => crate::scenario::run(wire, scenario, &plan.topology, scheduler.as_ref()),
    }
}

/// The last panic's text, kept by the hook for the final message.
static PANIC: Mutex<Option<String>> = Mutex::new(None);

/// The panic hook: prints where and why (the console keeps it) and keeps
/// the text for [`take_panic`].
fn remember_panic(info: &std::panic::PanicHookInfo<'_>) {
    let what = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_string());
    let at = info
        .location()
        .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
    if std::process::id() != 1 {
        // A forked worker: it reports its own death; say only where.
        eprintln!(
            "ktstr-guest: worker {} panicked{at}: {what}",
            std::process::id()
        );
        return;
    }
    let text = format!("guest runtime panicked{at}: {what}");
    eprintln!("ktstr-guest: {text}");
    *PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
}

fn take_panic() -> String {
    PANIC
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_else(|| "guest runtime panicked".to_string())
}

/// The stall detectors as the kernel took them from the command line.
fn observe_detectors() -> ObservedDetectors {
    fn read<T: std::str::FromStr>(path: &str) -> Option<T> {
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    }
    ObservedDetectors {
        watchdog_thresh_s: read("/proc/sys/kernel/watchdog_thresh"),
        rcu_stall_s: read("/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout"),
        hung_task_s: read("/proc/sys/kernel/hung_task_timeout_secs"),
        scx_watchdog_max_ms: read("/sys/module/kernel/parameters/scx_watchdog_max_ms"),
    }
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
