//! Faults the runtime injects into itself when its plan asks for one
//! (`ktstr run --guest-fault`), so ktstr's own tests can show how the host
//! classifies a guest runtime that crashes, vanishes or floods the wire.

use std::time::{Duration, Instant};

use ktstr_model::GuestFault;
use ktstr_wire::{encode, LogLine, Message, MAX_PAYLOAD_LEN};

use crate::{boottime_ns, power, WireOut};

/// Small log lines a flood sends besides its oversized frames.
const FLOOD_LINES: u32 = 100_000;
/// A flood gives up after this long even if the host has not taken it all,
/// so the run still ends within its timeout.
const FLOOD_LIMIT: Duration = Duration::from_secs(60);

/// Injects `fault`. Returns only for faults after which the run goes on.
pub(crate) fn inject(fault: GuestFault, wire: &mut WireOut) {
    match fault {
        GuestFault::Panic => {
            panic!("injected fault: the guest runtime panics (--guest-fault panic)")
        }
        GuestFault::Abort => {
            eprintln!("ktstr-guest: injected fault: abort");
            std::process::abort()
        }
        GuestFault::PowerOff => {
            eprintln!("ktstr-guest: injected fault: power off without a result");
            power::power_off()
        }
        GuestFault::Flood { mib } => flood(wire, mib),
    }
}

/// Sends `mib` frames of just under [`MAX_PAYLOAD_LEN`], then
/// [`FLOOD_LINES`] small log lines, each waiting for room in the ring rather
/// than dropping, so the host really receives the flood.
fn flood(wire: &mut WireOut, mib: u32) {
    let started = Instant::now();
    let big = Message::Log(LogLine {
        at_ns: boottime_ns(),
        // Room for the enum tag, the timestamp and the length prefix.
        text: "f".repeat(MAX_PAYLOAD_LEN - 64),
    });
    let Ok(frame) = encode(&big) else {
        eprintln!("ktstr-guest: flood: the oversized frame did not encode");
        return;
    };
    let mut sent = 0u64;
    for _ in 0..mib {
        if !send_waiting(wire, &frame, started) {
            break;
        }
        sent += 1;
    }
    for i in 0..FLOOD_LINES {
        let line = Message::Log(LogLine {
            at_ns: boottime_ns(),
            text: format!("flood line {i}"),
        });
        match encode(&line) {
            Ok(f) if send_waiting(wire, &f, started) => sent += 1,
            _ => break,
        }
    }
    eprintln!(
        "ktstr-guest: injected fault: flooded the wire with {sent} frames in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Sends one frame once the ring has room for it; false once the flood has
/// run for [`FLOOD_LIMIT`] or the wire cannot take frames at all.
fn send_waiting(wire: &mut WireOut, frame: &[u8], started: Instant) -> bool {
    // Checked before every frame: serial always has room (it blocks instead).
    while started.elapsed() <= FLOOD_LIMIT && wire.transport() != "none" {
        if wire.has_room(frame.len()) {
            return wire.send_frame(frame);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}
