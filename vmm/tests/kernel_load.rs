//! Loading the real cached kernel into a machine on this host's `/dev/kvm`:
//! where the image, initramfs, command line and zero page land, read back
//! from guest memory, without running the guest (booting needs hardware
//! virtualization; `cli/tests/nested_kvm.rs` does that one level down).

use std::path::PathBuf;

use ktstr_vmm::kvm::{
    KernelFormat, KvmBackend, Machine, MachineConfig, CMDLINE_ADDR, ZERO_PAGE_ADDR,
};
use ktstr_vmm::VmError;

/// The newest cached kernel directory, or why there is none.
fn kernel_dir() -> Option<PathBuf> {
    let base = std::env::var_os("KTSTR_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("ktstr")))
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ktstr")
        });
    std::fs::read_dir(base.join("kernels"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("bzImage").is_file() && p.join("vmlinux").is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
}

/// Why no cached kernel can be loaded here.
fn kernel_missing() -> Option<String> {
    kernel_dir()
        .is_none()
        .then(|| "no cached kernel with bzImage and vmlinux (run `ktstr kernel build`)".into())
}

/// Why `/dev/kvm` is unusable here.
fn kvm_missing() -> Option<String> {
    KvmBackend::open().err().map(|e| e.to_string())
}

fn machine(memory_mib: u32) -> Option<Machine> {
    let kvm = KvmBackend::open().expect("kvm_missing() found /dev/kvm usable");
    let mut config = MachineConfig::new("1,2,2,1".parse().unwrap());
    config.memory_mib = memory_mib;
    config.ring_bytes = 1 << 20;
    Some(Machine::new(&kvm, config).unwrap())
}

fn u32_at(m: &Machine, addr: u64) -> u32 {
    u32::from_le_bytes(m.read_memory(addr, 4).unwrap().try_into().unwrap())
}

fn initramfs(dir: &std::path::Path, len: usize) -> PathBuf {
    let p = dir.join("initramfs.cpio");
    std::fs::write(&p, vec![0x5a; len]).unwrap();
    p
}

fn bzimage_and_vmlinux_land_where_the_boot_protocol_says() {
    let dir = kernel_dir().expect("kernel_missing() found a kernel");
    let tmp = tempfile::tempdir().unwrap();
    let initrd = initramfs(tmp.path(), 3 << 20);
    let cmdline = "console=ttyS0 ktstr.wire=mem:0x1,2";
    for (image, format) in [
        ("bzImage", KernelFormat::BzImage),
        ("vmlinux", KernelFormat::Elf),
    ] {
        let mut m = machine(256).expect("a machine");
        let loaded = m
            .load_kernel(&dir.join(image), &initrd, cmdline)
            .unwrap_or_else(|e| panic!("{image}: {e}"));
        assert_eq!(loaded.format, format);
        let zp = ZERO_PAGE_ADDR;
        // "HdrS", the loader type, the command line and the initramfs.
        assert_eq!(u32_at(&m, zp + 0x202), 0x5372_6448, "{image}");
        assert_eq!(m.read_memory(zp + 0x210, 1).unwrap()[0], 0xff);
        assert_eq!(u64::from(u32_at(&m, zp + 0x228)), CMDLINE_ADDR);
        let text = m.read_memory(CMDLINE_ADDR, cmdline.len() + 1).unwrap();
        assert_eq!(&text[..cmdline.len()], cmdline.as_bytes());
        assert_eq!(text[cmdline.len()], 0);
        assert_eq!(u64::from(u32_at(&m, zp + 0x218)), loaded.initrd.0);
        assert_eq!(u32_at(&m, zp + 0x21c), 3 << 20);
        assert_eq!(m.read_memory(loaded.initrd.0, 4).unwrap(), [0x5a; 4]);
        // The initramfs ends at or below the ring, and the ring is not RAM.
        let plan = m.memory_plan().clone();
        assert!(loaded.initrd.0 + loaded.initrd.1 <= plan.ring_addr);
        let entries = m.read_memory(zp + 0x1e8, 1).unwrap()[0] as usize;
        assert_eq!(entries, plan.e820.len());
        for i in 0..entries as u64 {
            let e = m.read_memory(zp + 0x2d0 + 20 * i, 20).unwrap();
            let addr = u64::from_le_bytes(e[0..8].try_into().unwrap());
            let size = u64::from_le_bytes(e[8..16].try_into().unwrap());
            assert!(addr + size <= plan.ring_addr || addr >= plan.ring_addr + plan.ring_len);
        }
        match format {
            // startup_64 is 0x200 into the protected-mode code at 1 MiB.
            KernelFormat::BzImage => assert_eq!(loaded.entry, 0x10_0200),
            // The ELF's e_entry: startup_64's physical address, at or above 16 MiB.
            KernelFormat::Elf => assert!(loaded.entry >= 0x100_0000, "{:#x}", loaded.entry),
        }
    }
}

fn bad_kernel_and_oversized_initramfs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let not_a_kernel = tmp.path().join("notes.txt");
    std::fs::write(
        &not_a_kernel,
        b"this is not a kernel image at all\n".repeat(100),
    )
    .unwrap();
    let initrd = initramfs(tmp.path(), 4096);
    let mut m = machine(64).expect("a machine");
    match m.load_kernel(&not_a_kernel, &initrd, "") {
        Err(VmError::BadKernel { path, reason }) => {
            assert_eq!(path, not_a_kernel);
            assert!(reason.contains("bzImage"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let dir = kernel_dir().expect("kernel_missing() found a kernel");
    // 64 MiB of RAM: the kernel decompresses to 16 MiB and needs its
    // init_size above that, so 40 MiB of initramfs cannot fit.
    let huge = initramfs(tmp.path(), 40 << 20);
    let mut m = machine(64).expect("a machine");
    let err = m.load_kernel(&dir.join("bzImage"), &huge, "").unwrap_err();
    assert!(
        matches!(&err, VmError::Memory { reason, .. } if reason.contains("initramfs")),
        "{err}"
    );
}

fn main() {
    ktstr_test_support::main(ktstr_test_support::cases![
        [kernel_missing, kvm_missing] bzimage_and_vmlinux_land_where_the_boot_protocol_says,
        [kernel_missing, kvm_missing] bad_kernel_and_oversized_initramfs_are_named,
    ]);
}
