//! Putting a Linux kernel, its initramfs and command line into guest memory
//! for the x86 64-bit boot protocol (Documentation/arch/x86/boot.rst):
//! linux-loader places the image, this module writes the zero page.
//!
//! A bzImage is loaded at its `code32_start` and entered at `+0x200`
//! (`startup_64` of the decompressor); an uncompressed `vmlinux` ELF is
//! loaded by its program headers and entered at `e_entry`, skipping the
//! decompressor.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use linux_loader::loader::bootparam::{boot_e820_entry, boot_params, setup_header};
use linux_loader::loader::{bzimage::BzImage, elf::Elf, KernelLoader};
use vm_memory::{ByteValued, Bytes, GuestAddress, GuestMemoryMmap};

use super::layout::{
    E820Kind, MemoryPlan, ACPI_ADDR, CMDLINE_ADDR, HIGH_RAM_START, MMIO_HOLE_START, ZERO_PAGE_ADDR,
};
use crate::VmError;

/// `HdrS`, the setup header's magic.
const HDRS: u32 = 0x5372_6448;
/// The boot sector's signature the header carries.
const BOOT_FLAG: u16 = 0xaa55;
/// "Undefined" boot loader: we have no assigned id.
const LOADER_UNDEFINED: u8 = 0xff;
/// `loadflags.LOADED_HIGH`: the protected-mode kernel is at 1 MiB.
const LOADED_HIGH: u8 = 1;
/// Where Linux puts itself when nothing else is said (`CONFIG_PHYSICAL_START`).
const DEFAULT_ALIGN: u32 = 0x100_0000;
/// The highest initramfs address a protocol < 2.03 kernel accepts.
const OLD_INITRD_MAX: u32 = 0x37ff_ffff;
/// The 64-bit entry point's offset into a bzImage's protected-mode code.
const STARTUP_64: u64 = 0x200;
const PAGE: u64 = 4096;

/// Which kind of image was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelFormat {
    /// A compressed bzImage, entered through its decompressor.
    BzImage,
    /// An uncompressed `vmlinux` ELF, entered directly.
    Elf,
}

/// Where the loaded pieces are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedKernel {
    /// The image's format.
    pub format: KernelFormat,
    /// The boot CPU's first instruction (64-bit mode).
    pub entry: u64,
    /// The initramfs `(address, length)`.
    pub initrd: (u64, u64),
}

/// `boot_params` as bytes for guest memory.
#[derive(Clone, Copy, Default)]
#[repr(transparent)]
struct ZeroPage(boot_params);

// SAFETY: `boot_params` is a `repr(C, packed)` struct of integers and arrays
// of integers generated from the kernel's header: every bit pattern is a
// valid value and it has no padding, which is what ByteValued requires.
unsafe impl ByteValued for ZeroPage {}

/// Loads `kernel`, `initrd` and `cmdline` into `mem` laid out by `plan` and
/// writes the zero page at [`ZERO_PAGE_ADDR`].
///
/// # Errors
/// [`VmError::BadKernel`] when the image is neither a bzImage nor an ELF
/// kernel, or the initramfs or command line do not fit; [`VmError::Io`] or
/// [`VmError::InitramfsMissing`] when a file cannot be read.
pub(crate) fn load(
    mem: &GuestMemoryMmap,
    plan: &MemoryPlan,
    kernel: &Path,
    initrd: &Path,
    cmdline: &str,
) -> Result<LoadedKernel, VmError> {
    let bad = |reason: String| VmError::BadKernel {
        path: kernel.to_path_buf(),
        reason,
    };
    let mut file = File::open(kernel).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => VmError::KernelMissing(kernel.to_path_buf()),
        _ => VmError::Io {
            what: format!("open {}", kernel.display()),
            source: e,
        },
    })?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic)
        .map_err(|e| bad(format!("cannot read its first bytes: {e}")))?;
    let highmem = Some(GuestAddress(HIGH_RAM_START));
    let (format, entry, hdr, kernel_top) = if magic == *b"\x7fELF" {
        let r = Elf::load(mem, None, &mut file, highmem).map_err(|e| {
            bad(format!(
                "not a loadable x86-64 vmlinux: {e}\nhint: pass the bzImage or the build's `vmlinux`"
            ))
        })?;
        (
            KernelFormat::Elf,
            r.kernel_load.0,
            elf_header(),
            r.kernel_end,
        )
    } else {
        let r = BzImage::load(mem, None, &mut file, highmem).map_err(|e| {
            bad(format!(
                "not a bzImage or vmlinux ELF ({e})\nhint: pass arch/x86/boot/bzImage or vmlinux"
            ))
        })?;
        let hdr = r
            .setup_header
            .ok_or_else(|| bad("the bzImage has no setup header".into()))?;
        if hdr.version < 0x0206 {
            return Err(bad(format!(
                "boot protocol {}.{:02} is older than 2.06, which the 64-bit entry needs",
                hdr.version >> 8,
                hdr.version & 0xff
            )));
        }
        // The decompressor unpacks to `pref_address` and needs `init_size` there.
        let top = u64::from(hdr.kernel_alignment.max(DEFAULT_ALIGN)).max(r.kernel_end)
            + u64::from(hdr.init_size);
        (
            KernelFormat::BzImage,
            r.kernel_load.0 + STARTUP_64,
            hdr,
            top,
        )
    };

    let cmd_max = if hdr.cmdline_size == 0 {
        255
    } else {
        hdr.cmdline_size as usize
    };
    if cmdline.len() > cmd_max || cmdline.contains('\0') {
        return Err(bad(format!(
            "the command line has {} bytes; this kernel takes at most {cmd_max} without NUL",
            cmdline.len()
        )));
    }
    let mut cmd = cmdline.as_bytes().to_vec();
    cmd.push(0);
    mem.write_slice(&cmd, GuestAddress(CMDLINE_ADDR))
        .map_err(|e| io_err("write the kernel command line", e))?;

    let initrd_bytes = std::fs::read(initrd).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => VmError::InitramfsMissing(initrd.to_path_buf()),
        _ => VmError::Io {
            what: format!("read {}", initrd.display()),
            source: e,
        },
    })?;
    let initrd_max = if hdr.initrd_addr_max == 0 {
        OLD_INITRD_MAX
    } else {
        hdr.initrd_addr_max
    };
    let initrd_addr = initrd_address(plan, initrd_bytes.len() as u64, initrd_max, kernel_top)
        .ok_or_else(|| VmError::Memory {
            mib: (plan.slots.iter().map(|s| s.1).sum::<u64>() >> 20) as u32,
            reason: format!(
                "the {} KiB initramfs does not fit between the kernel (ends at {kernel_top:#x}) and the top of low RAM\nhint: give the VM more memory",
                initrd_bytes.len() >> 10
            ),
        })?;
    mem.write_slice(&initrd_bytes, GuestAddress(initrd_addr))
        .map_err(|e| io_err("write the initramfs", e))?;

    let mut zp = ZeroPage::default();
    let p = &mut zp.0;
    p.hdr = hdr;
    p.hdr.type_of_loader = LOADER_UNDEFINED;
    p.hdr.loadflags |= LOADED_HIGH;
    p.hdr.cmd_line_ptr = CMDLINE_ADDR as u32;
    p.hdr.cmdline_size = cmdline.len() as u32;
    p.hdr.ramdisk_image = initrd_addr as u32;
    p.hdr.ramdisk_size = initrd_bytes.len() as u32;
    p.acpi_rsdp_addr = ACPI_ADDR;
    if plan.e820.len() > p.e820_table.len() {
        return Err(bad(format!(
            "{} E820 entries exceed the zero page's {}",
            plan.e820.len(),
            p.e820_table.len()
        )));
    }
    for (slot, e) in p.e820_table.iter_mut().zip(&plan.e820) {
        *slot = boot_e820_entry {
            addr: e.addr,
            size: e.size,
            r#type: match e.kind {
                E820Kind::Ram => 1,
                E820Kind::Reserved => 2,
            },
        };
    }
    p.e820_entries = plan.e820.len() as u8;
    mem.write_obj(zp, GuestAddress(ZERO_PAGE_ADDR))
        .map_err(|e| io_err("write the zero page", e))?;
    Ok(LoadedKernel {
        format,
        entry,
        initrd: (initrd_addr, initrd_bytes.len() as u64),
    })
}

/// The setup header an ELF kernel lacks: only what Linux checks.
fn elf_header() -> setup_header {
    setup_header {
        boot_flag: BOOT_FLAG,
        header: HDRS,
        version: 0x020f,
        kernel_alignment: DEFAULT_ALIGN,
        initrd_addr_max: 0x7fff_ffff,
        cmdline_size: 2048,
        ..Default::default()
    }
}

/// The highest page-aligned address for `len` bytes of initramfs in RAM
/// below `max` (inclusive) and below the MMIO hole, above `floor`.
fn initrd_address(plan: &MemoryPlan, len: u64, max: u32, floor: u64) -> Option<u64> {
    let limit = (u64::from(max) + 1).min(MMIO_HOLE_START);
    plan.e820
        .iter()
        .filter(|e| e.kind == E820Kind::Ram)
        .filter_map(|e| {
            let end = (e.addr + e.size).min(limit);
            let start = end.checked_sub(len)? / PAGE * PAGE;
            (start >= e.addr.max(floor)).then_some(start)
        })
        .max()
}

fn io_err(what: &str, e: vm_memory::GuestMemoryError) -> VmError {
    VmError::Io {
        what: what.into(),
        source: std::io::Error::other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(mib: u32) -> MemoryPlan {
        MemoryPlan::new(mib, 4 << 20, &"1,1,1,1".parse().unwrap()).unwrap()
    }

    #[test]
    fn initrd_goes_to_the_top_of_ram_below_the_ring() {
        let p = plan(256);
        let a = initrd_address(&p, 3 << 20, 0x7fff_ffff, 32 << 20).unwrap();
        assert_eq!(a, p.ring_addr - (3 << 20));
        assert_eq!(a % PAGE, 0);
    }

    #[test]
    fn initrd_respects_the_kernels_limit_and_floor() {
        let p = plan(2048);
        let a = initrd_address(&p, 1 << 20, 0x3fff_ffff, 32 << 20).unwrap();
        assert_eq!(a + (1 << 20), 0x4000_0000);
        assert_eq!(initrd_address(&p, 200 << 20, 0x7fff_ffff, 1900 << 20), None);
    }

    #[test]
    fn zero_page_has_the_kernels_layout() {
        // Offsets from Documentation/arch/x86/zero-page.rst and boot.rst.
        assert_eq!(std::mem::size_of::<ZeroPage>(), 4096);
        let mut z = ZeroPage::default();
        z.0.acpi_rsdp_addr = 0x1122_3344_5566_7788;
        z.0.e820_entries = 3;
        z.0.hdr.cmd_line_ptr = 0xaabb_ccdd;
        z.0.e820_table[1].size = 0x99;
        let b = z.as_slice();
        assert_eq!(b[0x070..0x078], 0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(b[0x1e8], 3);
        assert_eq!(b[0x228..0x22c], 0xaabb_ccddu32.to_le_bytes());
        assert_eq!(b[0x2d0 + 20 + 8], 0x99);
    }
}
