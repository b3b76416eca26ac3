//! FADT: a hardware-reduced ACPI platform whose sleep control register powers
//! the guest off and whose reset register resets it, both one I/O port.
//!
//! Hardware-reduced means no PM1 event/control blocks, no SCI handshake and no
//! FACS: Linux enters S5 by writing `SLP_TYP << 2 | SLP_EN` to the sleep
//! control register (`acpi_hw_extended_sleep`), with `SLP_TYP` from the
//! DSDT's `_S5_`, and reboots by writing the reset value to the reset register.

use super::sdt::{Gas, Sdt};

/// The I/O port of the sleep control, sleep status and reset registers.
pub const ACPI_PM_PORT: u16 = 0x3c0;
/// Value written to [`ACPI_PM_PORT`] through the reset register.
pub const ACPI_RESET_VALUE: u8 = 0x01;
/// `SLP_TYP` of S5 in the DSDT's `_S5_` package.
pub const S5_SLP_TYP: u8 = 5;
/// `SLP_EN` in the sleep control register.
pub const SLP_EN: u8 = 1 << 5;

/// FADT flags: WBINVD, PWR_BUTTON, SLP_BUTTON (no fixed buttons),
/// RESET_REG_SUP, HW_REDUCED_ACPI.
const FLAGS: u32 = 1 | 1 << 4 | 1 << 5 | 1 << 10 | 1 << 20;
/// IA-PC boot architecture flags: VGA not present, CMOS RTC not present.
const IAPC_BOOT_ARCH: u16 = 1 << 2 | 1 << 5;

/// Length of an ACPI 6.x FADT.
pub(crate) const FADT_LEN: usize = 276;

/// The FADT pointing at the DSDT at `dsdt`.
pub(crate) fn fadt(dsdt: u64) -> Vec<u8> {
    let mut t = Sdt::new(b"FACP", 6);
    t.u32(0) // FIRMWARE_CTRL: no FACS on a hardware-reduced platform
        .u32(dsdt as u32)
        .u8(0) // reserved
        .u8(0) // preferred PM profile: unspecified
        .u16(0) // SCI_INT: none
        .u32(0) // SMI_CMD: no SMM
        .bytes(&[0; 4]) // ACPI_ENABLE, ACPI_DISABLE, S4BIOS_REQ, PSTATE_CNT
        .bytes(&[0; 32]) // PM1a/b EVT, PM1a/b CNT, PM2 CNT, PM TMR, GPE0/1 blocks
        .bytes(&[0; 8]) // their lengths, GPE1_BASE, CST_CNT
        .bytes(&[0; 8]) // P_LVL2/3 latencies, FLUSH_SIZE, FLUSH_STRIDE
        .bytes(&[0; 5]) // DUTY_OFFSET, DUTY_WIDTH, DAY/MON alarms, CENTURY
        .u16(IAPC_BOOT_ARCH)
        .u8(0)
        .u32(FLAGS);
    Gas::io_byte(ACPI_PM_PORT).write(&mut t); // RESET_REG
    t.u8(ACPI_RESET_VALUE)
        .u16(0) // ARM_BOOT_ARCH
        .u8(3) // minor version: ACPI 6.3
        .u64(0) // X_FIRMWARE_CTRL
        .u64(dsdt); // X_DSDT
    for _ in 0..8 {
        Gas::default().write(&mut t); // X_PM1a_EVT_BLK .. X_GPE1_BLK
    }
    Gas::io_byte(ACPI_PM_PORT).write(&mut t); // SLEEP_CONTROL_REG
    Gas::io_byte(ACPI_PM_PORT).write(&mut t); // SLEEP_STATUS_REG
    t.bytes(b"KTSTRVMM"); // hypervisor vendor identity
    debug_assert_eq!(t.len(), FADT_LEN);
    t.finish()
}
