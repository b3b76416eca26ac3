//! The own KVM VMM's fixed costs: creating a VM to its first guest
//! instruction, and tearing it down; against QEMU's process start to its
//! first console byte for a guest that does the same (one `out` at the
//! reset vector).
//!
//! Skips (with a line on stderr) where `/dev/kvm` or QEMU is unusable.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ktstr_vmm::kvm::{CpuMode, KvmBackend, Machine, MachineConfig};

/// `out 0x64, al` with AL = 0xFE: the first instruction does port I/O and
/// resets the guest (`mov al, 0xfe` first; two instructions in all).
const RESET_NOW: [u8; 4] = [0xb0, 0xfe, 0xe6, 0x64];

fn machine(kvm: &KvmBackend, spec: &str) -> Machine {
    let c = MachineConfig::new(spec.parse().unwrap());
    let mut m = Machine::new(kvm, c).unwrap();
    m.load_program(&RESET_NOW, CpuMode::Real).unwrap();
    m
}

fn kvm_bench(c: &mut Criterion) {
    let kvm = match KvmBackend::open() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("kvm benchmarks skipped: {e}");
            return;
        }
    };
    let mut g = c.benchmark_group("kvm");
    g.sample_size(30);
    for spec in ["1,1,1,1", "1,2,2,2"] {
        g.bench_function(format!("create_to_first_io/{spec}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut m = machine(&kvm, spec);
                    let r = m.run(&mut |_| {}).unwrap();
                    total += r.first_io.expect("the guest did port I/O");
                }
                total
            })
        });
        g.bench_function(format!("teardown/{spec}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut m = machine(&kvm, spec);
                    m.run(&mut |_| {}).unwrap();
                    let t = Instant::now();
                    drop(m);
                    total += t.elapsed();
                }
                total
            })
        });
    }
    g.finish();
}

/// A 64 KiB BIOS image whose reset vector (F000:FFF0) writes one byte to COM1.
fn tiny_bios() -> Vec<u8> {
    let mut bios = vec![0xf4; 64 << 10];
    let vector = [0xba, 0xf8, 0x03, 0xb0, b'!', 0xee, 0xfa, 0xf4];
    let at = bios.len() - 16;
    bios[at..at + vector.len()].copy_from_slice(&vector);
    bios
}

fn qemu_bench(c: &mut Criterion) {
    let qemu = std::env::var("KTSTR_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into());
    if Command::new(&qemu).arg("--version").output().is_err() {
        eprintln!("qemu benchmark skipped: `{qemu}` not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bios = dir.path().join("bios.bin");
    std::fs::write(&bios, tiny_bios()).unwrap();
    let mut g = c.benchmark_group("qemu");
    g.sample_size(10);
    g.bench_function("start_to_first_console_byte/tcg", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let mut child = Command::new(&qemu)
                    .args([
                        "-accel", "tcg", "-machine", "pc", "-m", "64", "-display", "none",
                    ])
                    .args([
                        "-nodefaults",
                        "-no-user-config",
                        "-serial",
                        "stdio",
                        "-bios",
                    ])
                    .arg(&bios)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let mut byte = [0u8; 1];
                child.stdout.take().unwrap().read_exact(&mut byte).unwrap();
                total += start.elapsed();
                assert_eq!(byte[0], b'!');
                let _ = child.kill();
                let _ = child.wait();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, kvm_bench, qemu_bench);
criterion_main!(benches);
