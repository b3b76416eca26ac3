//! One VM: created, loaded, run to its end with the wire and the console
//! drained as it goes, and torn down when dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ktstr_model::Topology;
use ktstr_wire::Message;
use kvm_bindings::{
    kvm_mp_state, kvm_pit_config, kvm_userspace_memory_region, CpuId, KVM_MP_STATE_RUNNABLE,
    KVM_PIT_SPEAKER_DUMMY,
};
use kvm_ioctls::{VcpuFd, VmFd};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};
use vmm_sys_util::signal::Killable;

use super::acpi::AcpiTables;
use super::boot::{self, LoadedKernel};
use super::cpuid::topology_cpuid;
use super::devices::Devices;
use super::layout::{MemoryPlan, ACPI_ADDR, PROGRAM_ADDR, PROGRAM_MAX, ZERO_PAGE_ADDR};
use super::monitor::{self, EventLoop, Wire};
use super::regs;
use super::stop::GuestStop;
use super::topology::ApicLayout;
use super::vcpu::{install_kick_handler, kick_signal, run_vcpu, Shared};
use super::KvmBackend;
use crate::{Console, VmError, VmSpec, WireStats};

/// Where KVM puts the TSS it needs for real mode on Intel (three pages).
const TSS_ADDR: usize = 0xfffb_d000;

/// The shape of a VM.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// CPUs, LLCs and nodes the guest sees.
    pub topology: Topology,
    /// Guest memory in MiB, the ring included.
    pub memory_mib: u32,
    /// Bytes of the wire ring at the top of guest memory.
    pub ring_bytes: usize,
    /// Wall-clock limit after which the watchdog stops the guest.
    pub timeout: Duration,
    /// Console bytes kept at each end.
    pub console_keep: usize,
}

impl MachineConfig {
    /// 64 MiB, a 64 KiB ring, a 10 s watchdog, 64 KiB of console at each end.
    pub fn new(topology: Topology) -> Self {
        MachineConfig {
            topology,
            memory_mib: 64,
            ring_bytes: 64 << 10,
            timeout: Duration::from_secs(10),
            console_keep: 64 << 10,
        }
    }

    /// The shape `spec` asks for.
    pub fn from_spec(spec: &VmSpec) -> Self {
        MachineConfig {
            topology: spec.topology,
            memory_mib: spec.memory_mib,
            ring_bytes: spec.ring_bytes,
            timeout: spec.timeout,
            console_keep: spec.console_keep,
        }
    }
}

/// The mode a guest program's first instruction runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuMode {
    /// 16-bit real mode: CS = `PROGRAM_ADDR >> 4`, IP = 0, other segments 0.
    Real,
    /// 64-bit mode, flat segments, the first 4 GiB identity-mapped with
    /// 2 MiB pages, an empty IDT (an exception is a triple fault).
    Long,
}

/// What one run of a [`Machine`] produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Why the guest stopped.
    pub stop: GuestStop,
    /// Messages decoded from the ring and COM2, in arrival order per transport.
    pub messages: Vec<Message>,
    /// COM1.
    pub console: Console,
    /// Wire counters.
    pub wire: WireStats,
    /// From the start of [`Machine::new`] to the first port I/O exit of any vCPU.
    pub first_io: Option<Duration>,
    /// From the start of [`Machine::run`] to the last vCPU thread's end.
    pub wall: Duration,
    /// Times the ring header claimed more bytes than it holds.
    pub ring_corruptions: u64,
}

/// A created VM with its memory, devices and vCPUs; torn down on drop.
pub struct Machine {
    config: MachineConfig,
    layout: ApicLayout,
    plan: MemoryPlan,
    acpi: AcpiTables,
    created: Instant,
    /// The XSAVE state components leaf 0xD offers, when CPUID has XSAVE.
    xsave_states: Option<u64>,
    // Field order is drop order: vCPUs before devices (their irqfds), the
    // VM, then the memory it maps.
    vcpus: Vec<VcpuFd>,
    devices: Option<Devices>,
    console: Arc<Mutex<Console>>,
    com2: Arc<Mutex<Vec<u8>>>,
    /// Kept open for the machine's life: closing it destroys the VM.
    _vm: VmFd,
    mem: GuestMemoryMmap,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("config", &self.config)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

fn kvm_err(what: impl Into<String>) -> impl FnOnce(kvm_ioctls::Error) -> VmError {
    let what = what.into();
    move |e| VmError::Io {
        what,
        source: std::io::Error::from_raw_os_error(e.errno()),
    }
}

fn mem_err(what: impl Into<String>) -> impl FnOnce(vm_memory::GuestMemoryError) -> VmError {
    let what = what.into();
    move |e| VmError::Io {
        what,
        source: std::io::Error::other(e.to_string()),
    }
}

impl Machine {
    /// Creates the VM: memory with the ring at its top, boot page tables,
    /// ACPI tables, in-kernel irqchip and PIT, COM1/COM2, and one vCPU per
    /// CPU whose KVM id is its APIC ID, with the topology's CPUID.
    ///
    /// # Errors
    /// [`VmError`] when the memory plan is impossible or a KVM call fails.
    pub fn new(backend: &KvmBackend, config: MachineConfig) -> Result<Self, VmError> {
        let created = Instant::now();
        config
            .topology
            .validate()
            .map_err(|e| VmError::Unavailable {
                backend: "kvm",
                reason: e.to_string(),
            })?;
        let layout = ApicLayout::new(&config.topology);
        let plan = MemoryPlan::new(config.memory_mib, config.ring_bytes, &config.topology)?;
        install_kick_handler().map_err(VmError::io("install the vCPU kick signal handler"))?;

        let vm = backend
            .kvm
            .create_vm()
            .map_err(kvm_err("create a KVM VM"))?;
        vm.set_tss_address(TSS_ADDR)
            .map_err(kvm_err("set the TSS address"))?;
        vm.create_irq_chip()
            .map_err(kvm_err("create the in-kernel irqchip"))?;
        let pit = kvm_pit_config {
            flags: KVM_PIT_SPEAKER_DUMMY,
            ..Default::default()
        };
        vm.create_pit2(pit)
            .map_err(kvm_err("create the in-kernel PIT"))?;

        let ranges: Vec<(GuestAddress, usize)> = plan
            .slots
            .iter()
            .map(|&(s, l)| (GuestAddress(s), l as usize))
            .collect();
        let mem = GuestMemoryMmap::<()>::from_ranges(&ranges).map_err(|e| VmError::Io {
            what: format!("map {} MiB of guest memory", config.memory_mib),
            source: std::io::Error::other(e.to_string()),
        })?;
        for (slot, region) in mem.iter().enumerate() {
            let host = region
                .get_host_address(vm_memory::MemoryRegionAddress(0))
                .map_err(mem_err("find a guest memory region"))?;
            let r = kvm_userspace_memory_region {
                slot: slot as u32,
                guest_phys_addr: region.start_addr().0,
                memory_size: region.len(),
                userspace_addr: host as u64,
                flags: 0,
            };
            // SAFETY: the region is a live mapping of `memory_size` bytes owned
            // by `mem`, which the Machine drops only after the VM (field order).
            unsafe { vm.set_user_memory_region(r) }
                .map_err(kvm_err("register guest memory with KVM"))?;
        }
        regs::write_boot_tables(&mem)?;
        let acpi = AcpiTables::build(&layout, &plan.nodes, ACPI_ADDR);
        mem.write_slice(acpi.bytes(), GuestAddress(ACPI_ADDR))
            .map_err(mem_err("write the ACPI tables"))?;

        let console = Arc::new(Mutex::new(Console::new(config.console_keep)));
        let com2 = Arc::new(Mutex::new(Vec::new()));
        let devices = Devices::new(&vm, Arc::clone(&console), Arc::clone(&com2))?;

        let mut vcpus = Vec::with_capacity(layout.cpus() as usize);
        for cpu in 0..layout.cpus() {
            let apic = layout.apic_id(cpu);
            let vcpu = vm
                .create_vcpu(u64::from(apic))
                .map_err(kvm_err(format!("create vCPU {cpu} (APIC ID {apic})")))?;
            let entries =
                topology_cpuid(&backend.cpuid, &layout, cpu).map_err(|e| VmError::Unavailable {
                    backend: "kvm",
                    reason: e.to_string(),
                })?;
            let cpuid = CpuId::from_entries(&entries).map_err(|e| VmError::Io {
                what: "build a CPUID table".into(),
                source: std::io::Error::other(format!("{e:?}")),
            })?;
            vcpu.set_cpuid2(&cpuid)
                .map_err(kvm_err(format!("set the CPUID of vCPU {cpu}")))?;
            vcpus.push(vcpu);
        }
        let xsave = backend
            .cpuid
            .iter()
            .any(|e| e.function == 1 && e.ecx & (1 << 26) != 0);
        let xsave_states = backend
            .cpuid
            .iter()
            .find(|e| e.function == 0xd && e.index == 0)
            .filter(|_| xsave)
            .map(|e| u64::from(e.eax) | u64::from(e.edx) << 32);
        Ok(Machine {
            config,
            layout,
            plan,
            acpi,
            created,
            xsave_states,
            vcpus,
            devices: Some(devices),
            console,
            com2,
            _vm: vm,
            mem,
        })
    }

    /// The APIC ID layout.
    pub fn layout(&self) -> &ApicLayout {
        &self.layout
    }

    /// Where RAM, the ring and the nodes are.
    pub fn memory_plan(&self) -> &MemoryPlan {
        &self.plan
    }

    /// The ACPI tables in guest memory.
    pub fn acpi(&self) -> &AcpiTables {
        &self.acpi
    }

    /// Loads `code` at [`PROGRAM_ADDR`](super::PROGRAM_ADDR) and points every
    /// vCPU at it in `mode`, runnable, with RDI (DI) = its CPU number.
    ///
    /// # Errors
    /// [`VmError`] when the program is too large, the machine already ran,
    /// or a KVM call fails.
    pub fn load_program(&mut self, code: &[u8], mode: CpuMode) -> Result<(), VmError> {
        if code.len() > PROGRAM_MAX {
            return Err(VmError::Unavailable {
                backend: "kvm",
                reason: format!(
                    "a guest program has at most {PROGRAM_MAX} bytes, not {}",
                    code.len()
                ),
            });
        }
        if self.vcpus.is_empty() {
            return Err(already_ran());
        }
        self.write_memory(PROGRAM_ADDR, code)?;
        for (cpu, vcpu) in self.vcpus.iter().enumerate() {
            match mode {
                CpuMode::Real => regs::set_real_mode(vcpu, PROGRAM_ADDR, cpu as u64)?,
                CpuMode::Long => regs::set_long_mode(vcpu, PROGRAM_ADDR, cpu as u64)?,
            }
            let runnable = kvm_mp_state {
                mp_state: KVM_MP_STATE_RUNNABLE,
            };
            vcpu.set_mp_state(runnable)
                .map_err(kvm_err(format!("make vCPU {cpu} runnable")))?;
        }
        Ok(())
    }

    /// Loads a Linux kernel (bzImage or `vmlinux` ELF), its initramfs and
    /// command line, and points the boot CPU at its 64-bit entry with the
    /// zero page in RSI. The other vCPUs wait for the kernel's INIT/SIPI.
    ///
    /// # Errors
    /// [`VmError::BadKernel`], [`VmError::KernelMissing`],
    /// [`VmError::InitramfsMissing`] or [`VmError::Memory`] for inputs that
    /// cannot boot; [`VmError::Io`] when a KVM call fails.
    pub fn load_kernel(
        &mut self,
        kernel: &std::path::Path,
        initramfs: &std::path::Path,
        cmdline: &str,
    ) -> Result<LoadedKernel, VmError> {
        if self.vcpus.is_empty() {
            return Err(already_ran());
        }
        let loaded = boot::load(&self.mem, &self.plan, kernel, initramfs, cmdline)?;
        for (cpu, vcpu) in self.vcpus.iter().enumerate() {
            regs::set_lapic_lints(vcpu)?;
            if let Some(offered) = self.xsave_states {
                regs::set_xcr0(vcpu, offered)?;
            }
            // KVM makes vCPU 0 the boot CPU; the others stay uninitialized
            // until the kernel sends them INIT and SIPI.
            if cpu == 0 {
                regs::set_linux_entry(vcpu, loaded.entry, ZERO_PAGE_ADDR)?;
            }
        }
        Ok(loaded)
    }

    /// Copies `bytes` into guest memory at `addr`.
    ///
    /// # Errors
    /// [`VmError::Io`] when the range is not guest memory.
    pub fn write_memory(&self, addr: u64, bytes: &[u8]) -> Result<(), VmError> {
        self.mem
            .write_slice(bytes, GuestAddress(addr))
            .map_err(mem_err(format!("write guest memory at {addr:#x}")))
    }

    /// Copies `len` bytes of guest memory at `addr`.
    ///
    /// # Errors
    /// [`VmError::Io`] when the range is not guest memory.
    pub fn read_memory(&self, addr: u64, len: usize) -> Result<Vec<u8>, VmError> {
        let mut out = vec![0; len];
        self.mem
            .read_slice(&mut out, GuestAddress(addr))
            .map_err(mem_err(format!("read guest memory at {addr:#x}")))?;
        Ok(out)
    }

    /// Runs every vCPU on its own thread until the guest stops, the
    /// watchdog fires or [`crate::request_stop`] is called; decodes the ring
    /// and COM2 while it runs, calling `on_message` for each message.
    /// A machine runs once.
    ///
    /// # Errors
    /// [`VmError`] when the machine already ran or a thread cannot start.
    pub fn run(&mut self, on_message: &mut dyn FnMut(&Message)) -> Result<RunReport, VmError> {
        if self.vcpus.is_empty() {
            return Err(already_ran());
        }
        let start = Instant::now();
        let wake = monitor::stop_eventfd()?;
        let event_loop = EventLoop::new(&wake)?;
        let devices = self.devices.take().ok_or_else(already_ran)?;
        let n = self.vcpus.len();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            reason: Mutex::new(None),
            parked: (0..n).map(|_| AtomicBool::new(false)).collect(),
            first_io: OnceLock::new(),
            devices,
            wake,
        });
        let mut threads: Vec<JoinHandle<()>> = Vec::with_capacity(n);
        for (cpu, vcpu) in self.vcpus.drain(..).enumerate() {
            let s = Arc::clone(&shared);
            let t = std::thread::Builder::new()
                .name(format!("ktstr-vcpu{cpu}"))
                .spawn(move || run_vcpu(cpu as u32, vcpu, s));
            match t {
                Ok(t) => threads.push(t),
                Err(e) => {
                    stop_threads(&shared, &mut threads);
                    return Err(VmError::Io {
                        what: format!("start the thread of vCPU {cpu}"),
                        source: e,
                    });
                }
            }
        }

        let ring = self
            .mem
            .get_host_address(GuestAddress(self.plan.ring_addr))
            .ok()
            .map(|p| (p, self.plan.ring_len as usize));
        // The ring stays mapped by `self.mem` until the Machine drops, after
        // this run and its Wire.
        let wire = Wire::new(ring, Arc::clone(&self.com2));
        let (mut threads, wire) =
            event_loop.run(&shared, threads, wire, self.config.timeout, on_message);
        stop_threads(&shared, &mut threads);
        let wall = start.elapsed();
        let (messages, wire, ring_corruptions) = wire.finish(on_message);
        let stop = shared
            .reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or(GuestStop::Interrupted);
        let first_io = shared
            .first_io
            .get()
            .map(|t| t.saturating_duration_since(self.created));
        let console = self
            .console
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(RunReport {
            stop,
            messages,
            console,
            wire,
            first_io,
            wall,
            ring_corruptions,
        })
    }
}

fn already_ran() -> VmError {
    VmError::Unavailable {
        backend: "kvm",
        reason: "this machine has already run; create a new one".into(),
    }
}

/// Tells every vCPU thread to stop, kicks them out of KVM_RUN until they
/// have, and joins them (which closes their vCPU fds).
fn stop_threads(shared: &Shared, threads: &mut Vec<JoinHandle<()>>) {
    shared.stop.store(true, Ordering::Release);
    // A kick that lands outside KVM_RUN is lost, so kick until each is done.
    while threads.iter().any(|t| !t.is_finished()) {
        for t in threads.iter().filter(|t| !t.is_finished()) {
            let _ = t.kill(kick_signal());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    for t in threads.drain(..) {
        let _ = t.join();
    }
}
