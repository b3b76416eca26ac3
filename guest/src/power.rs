//! Ending the VM.

use crate::sys;

/// Flushes and powers off. PID 1 must never return, so this loops if the
/// power-off itself fails (the host's watchdog then ends the VM).
pub(crate) fn power_off() -> ! {
    sys::sync();
    let e = sys::reboot_power_off();
    eprintln!("ktstr-guest: failed to power off: {e}");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
