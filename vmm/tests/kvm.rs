//! The own KVM VMM: ACPI tables against `iasl`, and small guest programs on
//! this host's `/dev/kvm`.

use std::path::Path;
use std::process::Command;

use ktstr_model::Topology;
use ktstr_vmm::kvm::{AcpiTables, ApicLayout, NodeMemory};

fn topo(spec: &str) -> Topology {
    spec.parse().unwrap()
}

/// Why the ACPI tables cannot be disassembled here: no `iasl`.
fn iasl_missing() -> Option<String> {
    let ok = Command::new("iasl").arg("-v").output().is_ok();
    (!ok).then(|| "`iasl` is not installed (apt-get install acpica-tools)".into())
}

/// Disassembles `bytes` with `iasl -d` in `dir`; returns the listing.
fn disassemble(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let bin = dir.join(format!("{name}.dat"));
    std::fs::write(&bin, bytes).unwrap();
    let out = Command::new("iasl")
        .arg("-d")
        .arg(&bin)
        .current_dir(dir)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "iasl -d {name} failed:\n{log}");
    std::fs::read_to_string(dir.join(format!("{name}.dsl")))
        .unwrap_or_else(|e| panic!("no listing for {name}: {e}\n{log}"))
}

fn acpi_tables_pass_iasl() {
    for spec in ["2,4,2,1", "1,5,5,5"] {
        let t = topo(spec);
        let layout = ApicLayout::new(&t);
        let mem: Vec<NodeMemory> = (0..t.numa_nodes)
            .map(|n| NodeMemory {
                node: n,
                base: u64::from(n) << 28,
                len: 1 << 28,
            })
            .collect();
        let tables = AcpiTables::build(&layout, &mem, 0xe0000);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let fadt = disassemble(d, "facp", tables.table(b"FACP").unwrap());
        assert!(fadt.contains("Hardware Reduced (V5) : 1"), "{fadt}");
        assert!(fadt.contains("Reset Register Supported"), "{fadt}");
        let dsdt = disassemble(d, "dsdt", tables.table(b"DSDT").unwrap());
        assert!(dsdt.contains("Name (_S5, Package (0x04)"), "{dsdt}");
        let madt = disassemble(d, "apic", tables.table(b"APIC").unwrap());
        let lapics = madt.matches("Local Apic ID : ").count();
        let x2apics = madt.matches("Processor x2Apic ID : ").count();
        assert_eq!(lapics + x2apics, t.cpus() as usize, "{madt}");
        assert!(madt.contains("I/O Apic"), "{madt}");
        if spec == "1,5,5,5" {
            assert!(x2apics > 0, "{madt}");
        }
        let srat = disassemble(d, "srat", tables.table(b"SRAT").unwrap());
        assert_eq!(
            srat.matches("Memory Affinity").count(),
            t.numa_nodes as usize,
            "{srat}"
        );
        let slit = disassemble(d, "slit", tables.table(b"SLIT").unwrap());
        assert!(
            slit.contains(&format!("Localities : {:016X}", t.numa_nodes)),
            "{slit}"
        );
        if t.numa_nodes == 2 {
            assert!(slit.contains("Locality   0 : 0A 14"), "{slit}");
            assert!(slit.contains("Locality   1 : 14 0A"), "{slit}");
        }
        let xsdt = disassemble(d, "xsdt", tables.table(b"XSDT").unwrap());
        assert_eq!(xsdt.matches("ACPI Table Address").count(), 4, "{xsdt}");
        // iasl 20200925 (Debian 12) refuses a standalone RSDP file ("does
        // not contain a valid ACPI table"); the unit tests' parser checks
        // both of its checksums and its XSDT pointer instead.
        for listing in [&fadt, &dsdt, &madt, &srat, &slit, &xsdt] {
            assert!(!listing.contains("Incorrect checksum"), "{listing}");
            assert!(!listing.contains("Invalid"), "{listing}");
        }
    }
}

// ---- guest programs on this host's /dev/kvm ----

use std::time::Duration;

use ktstr_vmm::kvm::{
    decode_topology, topology_cpuid, CpuMode, CpuVendor, GuestStop, KvmBackend, Machine,
    MachineConfig, ResetKind, PROGRAM_ADDR,
};
use ktstr_wire::{encode, LogLine, Message, RING_MAGIC, RING_VERSION};

/// Why `/dev/kvm` is unusable here.
fn kvm_missing() -> Option<String> {
    KvmBackend::open().err().map(|e| e.to_string())
}

/// The backend (the tests that call this need [`kvm_missing`]).
fn kvm() -> KvmBackend {
    KvmBackend::open().expect("kvm_missing() found /dev/kvm usable")
}

/// A few x86 instructions, encoded by hand.
#[derive(Default)]
struct Asm(Vec<u8>);

impl Asm {
    fn b(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }
    /// mov r64, imm64 for rax=0 .. rdi=7.
    fn mov64(&mut self, reg: u8, v: u64) -> &mut Self {
        self.b(&[0x48, 0xb8 + reg]).b(&v.to_le_bytes())
    }
    /// mov r32, imm32 (zero-extends in 64-bit mode).
    fn mov32(&mut self, reg: u8, v: u32) -> &mut Self {
        self.b(&[0xb8 + reg]).b(&v.to_le_bytes())
    }
    /// mov qword [rax], rbx.
    fn store_rbx_at_rax(&mut self) -> &mut Self {
        self.b(&[0x48, 0x89, 0x18])
    }
    /// qword [addr] = v (clobbers rax, rbx).
    fn store64(&mut self, addr: u64, v: u64) -> &mut Self {
        self.mov64(RAX, addr).mov64(RBX, v).store_rbx_at_rax()
    }
    /// Spins until qword [addr] == v (clobbers rax, rbx).
    fn wait64(&mut self, addr: u64, v: u64) -> &mut Self {
        // pause; cmp [rax], rbx; jne back to pause
        self.mov64(RAX, addr)
            .mov64(RBX, v)
            .b(&[0xf3, 0x90, 0x48, 0x39, 0x18, 0x75, 0xf9])
    }
    /// Real or long mode: out 0x3c0, 0x34 (ACPI S5 through the sleep control register).
    fn poweroff(&mut self) -> &mut Self {
        self.b(&[0x66, 0xba, 0xc0, 0x03, 0xb0, 0x34, 0xee])
    }
}

const RAX: u8 = 0;
const RCX: u8 = 1;
const RBX: u8 = 3;
const RSI: u8 = 6;
const RDI: u8 = 7;

fn machine(kvm: &KvmBackend, spec: &str, timeout_ms: u64) -> Machine {
    let mut c = MachineConfig::new(topo(spec));
    c.timeout = Duration::from_millis(timeout_ms);
    Machine::new(kvm, c).unwrap()
}

fn serial_output_reaches_the_console() {
    let kvm = kvm();
    let mut m = machine(&kvm, "1,1,1,1", 5000);
    let mut a = Asm::default();
    a.b(&[0xba, 0xf8, 0x03]); // mov dx, 0x3f8 (16-bit)
    for &c in b"hello\n" {
        a.b(&[0xb0, c, 0xee]); // mov al, c; out dx, al
    }
    // mov dx, 0x3c0; mov al, 0x34; out dx, al (16-bit operand size by default)
    a.b(&[0xba, 0xc0, 0x03, 0xb0, 0x34, 0xee]);
    m.load_program(&a.0, CpuMode::Real).unwrap();
    let r = m.run(&mut |_| {}).unwrap();
    eprintln!(
        "first I/O {:?} after creation, run {:?}",
        r.first_io, r.wall
    );
    assert_eq!(r.stop, GuestStop::PowerOff);
    assert_eq!(r.console.text(), "hello\n");
    assert!(r.first_io.is_some());
}

fn ring_frames_are_decoded_while_the_guest_runs() {
    let kvm = kvm();
    let mut m = machine(&kvm, "1,1,1,1", 10_000);
    let ring = m.memory_plan().ring_addr;
    let cap = m.memory_plan().ring_len - 64;
    let msgs: Vec<Message> = (0..3)
        .map(|i| {
            Message::Log(LogLine {
                at_ns: i,
                text: format!("frame {i} from the guest"),
            })
        })
        .collect();
    let serial_msg = Message::Log(LogLine {
        at_ns: 9,
        text: "over COM2".into(),
    });
    // Frames staged in guest memory; the guest copies them into the ring.
    let src = 0x3_0000u64;
    let mut staged = Vec::new();
    let mut a = Asm::default();
    a.store64(ring + 8, u64::from(RING_VERSION) | cap << 32)
        .store64(ring, RING_MAGIC);
    let mut pos = 0u64;
    for msg in &msgs {
        let f = encode(msg).unwrap();
        // rep movsb from the staging area into the ring's data area.
        a.mov64(RSI, src + staged.len() as u64)
            .mov64(RDI, ring + 64 + pos)
            .mov64(RCX, f.len() as u64)
            .b(&[0xf3, 0xa4]);
        pos += f.len() as u64;
        staged.extend_from_slice(&f);
        // Commit (write_pos), then wait for the host to release it (read_pos):
        // the host reads the ring while the guest runs.
        a.store64(ring + 16, pos).wait64(ring + 24, pos);
    }
    // One frame the guest "could not fit": counted as a RingWriter would.
    a.store64(ring + 32, 1).store64(ring + 40, 4096);
    // The same wire over COM2: rep outsb.
    let f = encode(&serial_msg).unwrap();
    a.mov64(RSI, src + staged.len() as u64)
        .mov64(RCX, f.len() as u64)
        .b(&[0x66, 0xba, 0xf8, 0x02, 0xf3, 0x6e]); // mov dx, 0x2f8; rep outsb
    staged.extend_from_slice(&f);
    a.poweroff();
    m.write_memory(src, &staged).unwrap();
    m.load_program(&a.0, CpuMode::Long).unwrap();
    let mut seen = Vec::new();
    let r = m.run(&mut |msg| seen.push(msg.clone())).unwrap();
    assert_eq!(r.stop, GuestStop::PowerOff, "{}", r.console.text());
    let mut want = msgs.clone();
    want.push(serial_msg);
    assert_eq!(seen, want);
    assert_eq!(r.messages, want);
    assert_eq!(r.wire.frames, 4);
    assert_eq!(
        (r.wire.ring_dropped_frames, r.wire.ring_dropped_bytes),
        (1, 4096)
    );
    assert_eq!(r.wire.transports, ["ring", "serial"]);
    assert!(r.wire.has_loss(), "the counted drop is a loss");
    assert_eq!(r.ring_corruptions, 0);
}

/// Leaves every vCPU reads and stores, 16 bytes each, in this order.
const LEAVES: [(u32, u32); 20] = [
    (0, 0),
    (1, 0),
    (4, 0),
    (4, 1),
    (4, 2),
    (4, 3),
    (4, 4),
    (0xb, 0),
    (0xb, 1),
    (0xb, 2),
    (0x1f, 0),
    (0x1f, 1),
    (0x1f, 2),
    (0x8000_0001, 0),
    (0x8000_0006, 0),
    (0x8000_0008, 0),
    (0x8000_001d, 0),
    (0x8000_001d, 1),
    (0x8000_001d, 2),
    (0x8000_001d, 3),
];
const RESULTS: u64 = 0x4_0000;
const STRIDE_SHIFT: u8 = 9;

fn cpuid_program() -> Vec<u8> {
    let mut a = Asm::default();
    // r8 = RESULTS + (rdi << STRIDE_SHIFT)
    a.b(&[
        0x49,
        0x89,
        0xf8,
        0x49,
        0xc1,
        0xe0,
        STRIDE_SHIFT,
        0x49,
        0x81,
        0xc0,
    ])
    .b(&(RESULTS as u32).to_le_bytes());
    let mut leaves = LEAVES.to_vec();
    leaves.extend([(0x8000_001d, 4), (0x8000_001e, 0), (0x8000_0000, 0)]);
    for (leaf, sub) in leaves {
        a.mov32(RAX, leaf).mov32(RCX, sub).b(&[0x0f, 0xa2]);
        // mov [r8+0], eax; [r8+4], ebx; [r8+8], ecx; [r8+12], edx; add r8, 16
        a.b(&[
            0x41, 0x89, 0x40, 0, 0x41, 0x89, 0x58, 4, 0x41, 0x89, 0x48, 8,
        ])
        .b(&[0x41, 0x89, 0x50, 12, 0x49, 0x83, 0xc0, 16]);
    }
    a.b(&[0xfa, 0xf4]); // cli; hlt
    a.0
}

fn check_guest_cpuid(spec: &str) {
    let kvm = kvm();
    // The host's vendor, then the other one: both paths through real KVM.
    let other = match kvm.vendor() {
        CpuVendor::Amd => CpuVendor::Intel,
        CpuVendor::Intel => CpuVendor::Amd,
    };
    check_guest_cpuid_on(spec, kvm);
    check_guest_cpuid_on(spec, KvmBackend::open().unwrap().with_vendor(other));
}

fn check_guest_cpuid_on(spec: &str, kvm: KvmBackend) {
    let t = topo(spec);
    let mut m = machine(&kvm, spec, 20_000);
    m.load_program(&cpuid_program(), CpuMode::Long).unwrap();
    let r = m.run(&mut |_| {}).unwrap();
    assert_eq!(r.stop, GuestStop::Halted, "{spec}");
    let n = LEAVES.len() + 3;
    let mut decoded = Vec::new();
    for cpu in 0..t.cpus() {
        let raw = m
            .read_memory(RESULTS + (u64::from(cpu) << STRIDE_SHIFT), n * 16)
            .unwrap();
        let mut leaves = LEAVES.to_vec();
        leaves.extend([(0x8000_001d, 4), (0x8000_001e, 0), (0x8000_0000, 0)]);
        let regs: Vec<((u32, u32), [u32; 4])> = leaves
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                let w = |j: usize| {
                    let o = i * 16 + j * 4;
                    u32::from_le_bytes(raw[o..o + 4].try_into().unwrap())
                };
                (k, [w(0), w(1), w(2), w(3)])
            })
            .collect();
        // What the guest read is what we set.
        let table = topology_cpuid(kvm.supported_cpuid(), m.layout(), cpu).unwrap();
        for &((leaf, sub), got) in &regs {
            if let Some(e) = table.iter().find(|e| e.function == leaf && e.index == sub) {
                let want = [e.eax, e.ebx, e.ecx, e.edx];
                // Leaf 1 ECX/EDX carry bits KVM owns at run time (OSXSAVE, APIC).
                if leaf != 1 {
                    assert_eq!(got, want, "{spec} cpu {cpu} leaf {leaf:#x}.{sub}");
                } else {
                    assert_eq!(got[1], want[1], "{spec} cpu {cpu} leaf 1 EBX");
                }
            }
        }
        let d = decode_topology(|leaf, sub| {
            regs.iter()
                .find(|(k, _)| *k == (leaf, sub))
                .map_or([0; 4], |(_, r)| *r)
        });
        assert!(d.inconsistencies.is_empty(), "{spec} cpu {cpu}: {d:?}");
        let p = t.place(cpu);
        assert_eq!(d.apic_id, m.layout().apic_id(cpu), "{spec} cpu {cpu}");
        assert_eq!(
            (d.package, d.core, d.thread),
            (p.llc, p.core, p.thread),
            "{spec} cpu {cpu}"
        );
        decoded.push(d);
    }
    for cpu in 0..t.cpus() {
        let p = t.place(cpu);
        let llc = decoded[cpu as usize].llc_id;
        let sharers: Vec<u32> = (0..t.cpus())
            .filter(|&o| decoded[o as usize].llc_id == llc)
            .collect();
        assert_eq!(
            sharers,
            t.llc_cpus(p.llc).collect::<Vec<_>>(),
            "{spec} cpu {cpu} L3"
        );
    }
    eprintln!(
        "{spec}: {} vCPUs read back their topology ({:?} vendor)",
        t.cpus(),
        kvm.vendor()
    );
}

fn every_vcpu_sees_its_topology_1_2_2_2() {
    check_guest_cpuid("1,2,2,2");
}

fn every_vcpu_sees_its_topology_2_4_2_1() {
    check_guest_cpuid("2,4,2,1");
}

fn stop_of(code: &[u8], mode: CpuMode, timeout_ms: u64) -> GuestStop {
    let kvm = kvm();
    let mut m = machine(&kvm, "1,1,1,1", timeout_ms);
    m.load_program(code, mode).unwrap();
    m.run(&mut |_| {}).unwrap().stop
}

fn i8042_reset_is_classified() {
    // mov al, 0xfe; out 0x64, al
    let s = stop_of(&[0xb0, 0xfe, 0xe6, 0x64], CpuMode::Real, 5000);
    {
        assert_eq!(s, GuestStop::Reset(ResetKind::I8042));
    }
}

fn acpi_reset_register_is_classified() {
    // mov dx, 0x3c0; mov al, 1; out dx, al
    let s = stop_of(&[0xba, 0xc0, 0x03, 0xb0, 0x01, 0xee], CpuMode::Real, 5000);
    {
        assert_eq!(s, GuestStop::Reset(ResetKind::AcpiResetRegister));
    }
}

fn triple_fault_is_classified() {
    // ud2 with an empty IDT: #UD → #GP → #DF → shutdown.
    let s = stop_of(&[0x0f, 0x0b], CpuMode::Long, 5000);
    {
        assert_eq!(s, GuestStop::TripleFault { cpu: 0 });
    }
}

fn halt_with_interrupts_off_is_classified() {
    let s = stop_of(&[0xfa, 0xf4], CpuMode::Real, 5000);
    {
        assert_eq!(s, GuestStop::Halted);
    }
}

fn watchdog_ends_a_spinning_guest() {
    let start = std::time::Instant::now();
    // jmp $
    let s = stop_of(&[0xeb, 0xfe], CpuMode::Long, 300);
    {
        assert_eq!(
            s,
            GuestStop::Watchdog {
                after: Duration::from_millis(300)
            }
        );
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
    }
}

fn program_address_is_where_vcpus_start() {
    assert_eq!(PROGRAM_ADDR % 16, 0);
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// (threads, RSS in KiB) of this process.
fn threads_and_rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    (field("Threads:"), field("VmRSS:"))
}

fn two_hundred_vms_leave_nothing_behind() {
    let kvm = kvm();
    let cycle = || {
        let mut m = machine(&kvm, "1,1,2,2", 5000);
        m.load_program(&[0xb0, 0xfe, 0xe6, 0x64], CpuMode::Real)
            .unwrap();
        let r = m.run(&mut |_| {}).unwrap();
        assert_eq!(r.stop, GuestStop::Reset(ResetKind::I8042));
    };
    // Warm up: lazily allocated process state (signal handler, allocator arenas).
    for _ in 0..5 {
        cycle();
    }
    // Other tests run concurrently in this binary and own fds and threads of
    // their own; retry the comparison until they have settled.
    let before = (fds(), threads_and_rss());
    let start = std::time::Instant::now();
    for _ in 0..200 {
        cycle();
    }
    let per_cycle = start.elapsed() / 200;
    let mut after = (fds(), threads_and_rss());
    for _ in 0..50 {
        if after.0 <= before.0 && after.1 .0 <= before.1 .0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        after = (fds(), threads_and_rss());
    }
    eprintln!("200 cycles, {per_cycle:?} each: fds {before:?} -> {after:?}");
    assert!(after.0 <= before.0, "fds grew: {} -> {}", before.0, after.0);
    assert!(after.1 .0 <= before.1 .0, "threads grew");
    // Each VM maps 64 MiB; a leak of one per cycle would be gigabytes.
    assert!(
        after.1 .1 < before.1 .1 + 16 * 1024,
        "RSS grew from {} KiB to {} KiB",
        before.1 .1,
        after.1 .1
    );
}

fn main() {
    ktstr_test_support::main(ktstr_test_support::cases![
        [iasl_missing] acpi_tables_pass_iasl,
        [kvm_missing] serial_output_reaches_the_console,
        [kvm_missing] ring_frames_are_decoded_while_the_guest_runs,
        [kvm_missing] every_vcpu_sees_its_topology_1_2_2_2,
        [kvm_missing] every_vcpu_sees_its_topology_2_4_2_1,
        [kvm_missing] i8042_reset_is_classified,
        [kvm_missing] acpi_reset_register_is_classified,
        [kvm_missing] triple_fault_is_classified,
        [kvm_missing] halt_with_interrupts_off_is_classified,
        [kvm_missing] watchdog_ends_a_spinning_guest,
        [] program_address_is_where_vcpus_start,
        [kvm_missing] two_hundred_vms_leave_nothing_behind,
    ]);
}
