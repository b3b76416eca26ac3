//! Port I/O devices: COM1 (console) and COM2 (wire fallback) as vm-superio
//! 16550s with their interrupts on irqfds, the i8042's reset line, the ACPI
//! sleep/reset port, and the PCI reset control register.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use kvm_ioctls::VmFd;
use vm_superio::{Serial, Trigger};
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use super::acpi::{ACPI_PM_PORT, ACPI_RESET_VALUE, S5_SLP_TYP, SLP_EN};
use super::stop::{GuestStop, ResetKind};
use crate::{Console, VmError};

/// COM1's base port and IRQ.
pub const COM1: (u16, u32) = (0x3f8, 4);
/// COM2's base port and IRQ.
pub const COM2: (u16, u32) = (0x2f8, 3);
const I8042_DATA: u16 = 0x60;
const I8042_COMMAND: u16 = 0x64;
/// i8042 command: pulse the CPU reset line.
const I8042_RESET: u8 = 0xfe;
/// PCI reset control register; bit 2 starts a reset.
const PCI_RESET_CONTROL: u16 = 0xcf9;

/// Raises a serial port's interrupt through an irqfd.
pub(crate) struct IrqLine(EventFd);

impl Trigger for IrqLine {
    type E = io::Error;

    fn trigger(&self) -> io::Result<()> {
        self.0.write(1)
    }
}

/// COM1's output: the bounded console capture.
pub(crate) struct ConsoleOut(pub(crate) Arc<Mutex<Console>>);

impl Write for ConsoleOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// COM2's output: bytes the host drains into a wire decoder.
pub(crate) struct WireOut(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Write for WireOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Every port device of one VM. vCPU threads call in concurrently.
pub(crate) struct Devices {
    com1: Mutex<Serial<IrqLine, vm_superio::serial::NoEvents, ConsoleOut>>,
    com2: Mutex<Serial<IrqLine, vm_superio::serial::NoEvents, WireOut>>,
}

fn irq_line(vm: &VmFd, gsi: u32) -> Result<IrqLine, VmError> {
    let fd = EventFd::new(EFD_NONBLOCK).map_err(VmError::io("create a serial irq eventfd"))?;
    vm.register_irqfd(&fd, gsi).map_err(|e| VmError::Io {
        what: format!("register the irqfd of GSI {gsi}"),
        source: io::Error::from_raw_os_error(e.errno()),
    })?;
    Ok(IrqLine(fd))
}

impl Devices {
    /// The devices of `vm` (which must have its irqchip), writing COM1 to
    /// `console` and COM2 to `wire`.
    pub(crate) fn new(
        vm: &VmFd,
        console: Arc<Mutex<Console>>,
        wire: Arc<Mutex<Vec<u8>>>,
    ) -> Result<Self, VmError> {
        Ok(Devices {
            com1: Mutex::new(Serial::new(irq_line(vm, COM1.1)?, ConsoleOut(console))),
            com2: Mutex::new(Serial::new(irq_line(vm, COM2.1)?, WireOut(wire))),
        })
    }

    /// A guest `out`: returns how the guest stopped, if this write stops it.
    pub(crate) fn pio_write(&self, port: u16, data: &[u8]) -> Option<GuestStop> {
        let v = *data.first()?;
        match port {
            p if (COM1.0..COM1.0 + 8).contains(&p) => {
                let mut s = self.com1.lock().unwrap_or_else(|e| e.into_inner());
                let _ = s.write((p - COM1.0) as u8, v);
            }
            p if (COM2.0..COM2.0 + 8).contains(&p) => {
                let mut s = self.com2.lock().unwrap_or_else(|e| e.into_inner());
                let _ = s.write((p - COM2.0) as u8, v);
            }
            I8042_COMMAND if v == I8042_RESET => {
                return Some(GuestStop::Reset(ResetKind::I8042));
            }
            ACPI_PM_PORT if v == ACPI_RESET_VALUE => {
                return Some(GuestStop::Reset(ResetKind::AcpiResetRegister));
            }
            ACPI_PM_PORT if v & SLP_EN != 0 && (v >> 2) & 7 == S5_SLP_TYP => {
                return Some(GuestStop::PowerOff);
            }
            PCI_RESET_CONTROL if v & 4 != 0 => {
                return Some(GuestStop::Reset(ResetKind::PciResetControl));
            }
            _ => {}
        }
        None
    }

    /// A guest `in`: fills `data`. Absent devices read as all ones.
    pub(crate) fn pio_read(&self, port: u16, data: &mut [u8]) {
        let v = match port {
            p if (COM1.0..COM1.0 + 8).contains(&p) => {
                let mut s = self.com1.lock().unwrap_or_else(|e| e.into_inner());
                s.read((p - COM1.0) as u8)
            }
            p if (COM2.0..COM2.0 + 8).contains(&p) => {
                let mut s = self.com2.lock().unwrap_or_else(|e| e.into_inner());
                s.read((p - COM2.0) as u8)
            }
            // i8042: no data waiting, input buffer empty.
            I8042_COMMAND | I8042_DATA => 0,
            // Sleep status: WAK_STS clear.
            ACPI_PM_PORT => 0,
            _ => 0xff,
        };
        data.fill(v);
    }
}
