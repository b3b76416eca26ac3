//! PID 1's main line.

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
    let error = run(&mut wire, mount_errors.into_iter().chain(notes).collect())
        .err()
        .map(|e| error_chain(&e));
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
    match &plan.task {
        GuestTask::Boot => Ok(()),
        GuestTask::Scenario {
            scenario,
            scheduler,
        } => crate::scenario::run(wire, scenario, &plan.topology, scheduler.as_ref()),
    }
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
