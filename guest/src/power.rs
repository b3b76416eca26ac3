//! Ending the VM.

/// Flushes and powers off. PID 1 must never return, so this loops if the
/// power-off itself fails (the host's watchdog then ends the VM).
pub(crate) fn power_off() -> ! {
    // SAFETY: sync and reboot take no pointers; reboot only returns on failure.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
