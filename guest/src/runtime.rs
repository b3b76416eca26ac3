//! PID 1's main line.

use ktstr_model::{GuestPlan, GuestTask, PLAN_PATH};
use ktstr_wire::{Done, Hello, LogLine, Message};

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
    let error = run(&mut wire, mount_errors.into_iter().chain(notes).collect()).err();
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

fn run(wire: &mut WireOut, notes: Vec<String>) -> Result<(), String> {
    let hello = Hello {
        kernel_release: kernel_release(),
        boot_ns: boottime_ns(),
        topology: observe_topology(),
        sched_ext: std::path::Path::new("/sys/kernel/sched_ext").is_dir(),
        sched_ext_state: std::fs::read_to_string("/sys/kernel/sched_ext/state")
            .ok()
            .map(|s| s.trim().to_string()),
    };
    wire.send(&Message::Hello(hello));
    for text in notes {
        wire.send(&Message::Log(LogLine {
            at_ns: boottime_ns(),
            text,
        }));
    }
    let bytes = std::fs::read(PLAN_PATH)
        .map_err(|e| format!("failed to read the plan `{PLAN_PATH}`: {e}"))?;
    let plan = GuestPlan::from_bytes(&bytes).map_err(|e| format!("failed to decode the plan `{PLAN_PATH}`: {e} (host and guest built from different versions?)"))?;
    match &plan.task {
        GuestTask::Boot => Ok(()),
        GuestTask::Scenario {
            scenario,
            scheduler,
        } => crate::scenario::run(wire, scenario, &plan.topology, scheduler.as_ref()),
    }
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
