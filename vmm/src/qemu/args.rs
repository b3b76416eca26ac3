//! The QEMU command line for a [`VmSpec`].
//!
//! Topology: one socket per LLC (QEMU gives each socket its own L3), `cores` and
//! `threads` per socket, and one `-numa node` per NUMA node holding whole sockets,
//! with its own memory and a distance of 20 to every other node.

use std::path::Path;

use crate::{Accel, VmError, VmSpec, GUEST_WIRE_ARG};

/// Distance between different NUMA nodes (SLIT; 10 is local).
const REMOTE_DISTANCE: u32 = 20;
/// Smallest memory per NUMA node the guest kernel is happy with.
const MIN_NODE_MIB: u32 = 64;
/// Above this QEMU splits RAM around the PCI hole; nothing here needs that much.
const MAX_MEMORY_MIB: u32 = 16 * 1024;

/// Paths the command line refers to, all inside the run's private directory.
pub(crate) struct RunFiles<'a> {
    /// Shared file backing the ivshmem ring.
    pub ring: &'a Path,
    /// Where COM2 (the serial wire fallback) is written.
    pub serial_wire: &'a Path,
    /// The scratch disk's backing file, when the spec asks for one.
    pub scratch: Option<&'a Path>,
}

/// Builds the argument list (without the program name).
pub(crate) fn qemu_args(
    spec: &VmSpec,
    accel: Accel,
    files: &RunFiles<'_>,
) -> Result<Vec<String>, VmError> {
    let t = &spec.topology;
    let nodes = t.numa_nodes;
    if spec.memory_mib > MAX_MEMORY_MIB || spec.memory_mib / nodes < MIN_NODE_MIB {
        return Err(VmError::Memory {
            mib: spec.memory_mib,
            reason: format!("need {MIN_NODE_MIB}..={MAX_MEMORY_MIB} MiB with at least {MIN_NODE_MIB} MiB per NUMA node ({nodes} nodes)"),
        });
    }
    if !spec.ring_bytes.is_power_of_two() || spec.ring_bytes < 4096 {
        return Err(VmError::Memory {
            mib: spec.memory_mib,
            reason: format!(
                "ring size {} is not a power of two >= 4096",
                spec.ring_bytes
            ),
        });
    }
    // Whole MiB per node; the total is what the nodes add up to.
    let per_node = spec.memory_mib / nodes;
    let total = per_node * nodes;

    let mut a: Vec<String> = Vec::new();
    let mut push = |xs: &[&str]| a.extend(xs.iter().map(|s| s.to_string()));
    push(&[
        "-name",
        "ktstr",
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
    ]);
    match accel {
        Accel::Kvm => push(&["-machine", "pc,accel=kvm", "-cpu", "host"]),
        Accel::Tcg => push(&[
            "-machine",
            "pc",
            "-accel",
            "tcg,thread=multi",
            "-cpu",
            "max",
        ]),
    }
    let smp = format!(
        "cpus={},sockets={},cores={},threads={}",
        t.cpus(),
        t.llcs,
        t.cores_per_llc,
        t.threads_per_core
    );
    push(&["-smp", &smp, "-m", &format!("{total}M")]);
    if nodes > 1 {
        for n in 0..nodes {
            push(&[
                "-object",
                &format!("memory-backend-ram,id=mem{n},size={per_node}M"),
            ]);
            push(&["-numa", &format!("node,nodeid={n},memdev=mem{n}")]);
        }
        for socket in 0..t.llcs {
            push(&[
                "-numa",
                &format!(
                    "cpu,node-id={},socket-id={socket}",
                    socket / t.llcs_per_node()
                ),
            ]);
        }
        for src in 0..nodes {
            for dst in (0..nodes).filter(|&d| d != src) {
                push(&[
                    "-numa",
                    &format!("dist,src={src},dst={dst},val={REMOTE_DISTANCE}"),
                ]);
            }
        }
    }
    // COM1: console to our stdout pipe. COM2: raw frames, the wire's fallback.
    push(&[
        "-chardev",
        "stdio,id=con,signal=off",
        "-serial",
        "chardev:con",
    ]);
    push(&[
        "-chardev",
        &format!("file,id=wire,path={}", files.serial_wire.display()),
        "-serial",
        "chardev:wire",
    ]);
    // The ring: a shared file both QEMU (as a PCI BAR) and the host map.
    push(&[
        "-object",
        &format!(
            "memory-backend-file,id=ring,size={},mem-path={},share=on",
            spec.ring_bytes,
            files.ring.display()
        ),
        "-device",
        "ivshmem-plain,memdev=ring",
    ]);
    if let Some(scratch) = files.scratch {
        push(&[
            "-drive",
            &format!(
                "file={},format=raw,if=none,id=scratch,cache=writeback",
                // QEMU's option syntax doubles a literal comma.
                scratch.display().to_string().replace(',', ",,")
            ),
            "-device",
            "virtio-blk-pci,drive=scratch",
        ]);
    }
    push(&[
        "-kernel",
        &spec.kernel.display().to_string(),
        "-initrd",
        &spec.initramfs.display().to_string(),
    ]);
    push(&["-append", &kernel_cmdline(spec, accel)]);
    Ok(a)
}

/// Delay-loop calibration preset under TCG (loops per jiffy at HZ=250 of a
/// ~1 GHz emulated CPU).
const TCG_LOOPS_PER_JIFFY: u32 = 4_000_000;

/// The guest kernel command line.
fn kernel_cmdline(spec: &VmSpec, accel: Accel) -> String {
    let mut words = vec![
        "console=ttyS0".to_string(),
        // Reboot at once on panic; with -no-reboot QEMU then exits.
        "panic=-1".into(),
        "rdinit=/init".into(),
        format!("{GUEST_WIRE_ARG}=ivshmem"),
    ];
    if accel == Accel::Tcg {
        // TCG's TSC is the host clock; the clocksource watchdog's jitter complaints
        // under emulation would only add noise to the console.
        words.push("tsc=reliable".into());
        // Every AP calibrates its delay loop against the timer at bring-up;
        // with many vCPUs sharing few host cores under TCG that never
        // settles (a 64-vCPU guest had not reached /init after 120 s; with a
        // preset value it booted in 11 s, 128 vCPUs in 26 s). The value only
        // scales udelay(), which nothing the harness measures relies on.
        words.push(format!("lpj={TCG_LOOPS_PER_JIFFY}"));
    }
    words.extend(spec.cmdline_extra.iter().cloned());
    words.join(" ")
}

/// The QEMU argument list (without the program name) `spec` would run with
/// under `accel`, its files placed in `run_dir`: what the backend runs, for
/// inspection and for tests that must not start a VM.
///
/// # Errors
///
/// [`VmError::Memory`] for a memory size or ring size QEMU cannot be given.
pub fn qemu_command_line(
    spec: &VmSpec,
    accel: Accel,
    run_dir: &Path,
) -> Result<Vec<String>, VmError> {
    let (ring, serial, scratch) = (
        run_dir.join("ring"),
        run_dir.join("serial-wire"),
        run_dir.join("scratch.img"),
    );
    qemu_args(
        spec,
        accel,
        &RunFiles {
            ring: &ring,
            serial_wire: &serial,
            scratch: (spec.scratch_disk_mib > 0).then_some(scratch.as_path()),
        },
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn args_for(topo: &str, mib: u32) -> Result<Vec<String>, VmError> {
        let mut spec = VmSpec::new(
            PathBuf::from("/k"),
            PathBuf::from("/i"),
            topo.parse().unwrap(),
        );
        spec.memory_mib = mib;
        let files = RunFiles {
            ring: Path::new("/r"),
            serial_wire: Path::new("/w"),
            scratch: None,
        };
        qemu_args(&spec, Accel::Tcg, &files)
    }

    fn has_pair(a: &[String], k: &str, v: &str) -> bool {
        a.windows(2).any(|w| w[0] == k && w[1] == v)
    }

    #[test]
    fn one_socket_per_llc() {
        let a = args_for("1,3,3,1", 512).unwrap();
        assert!(
            has_pair(&a, "-smp", "cpus=9,sockets=3,cores=3,threads=1"),
            "{a:?}"
        );
        assert!(!a.iter().any(|s| s == "-numa"));
    }

    #[test]
    fn numa_nodes_hold_whole_sockets_with_distances() {
        let a = args_for("2,4,2,1", 1024).unwrap();
        assert!(has_pair(
            &a,
            "-object",
            "memory-backend-ram,id=mem1,size=512M"
        ));
        assert!(has_pair(&a, "-numa", "cpu,node-id=0,socket-id=1"));
        assert!(has_pair(&a, "-numa", "cpu,node-id=1,socket-id=2"));
        assert!(has_pair(&a, "-numa", "dist,src=1,dst=0,val=20"));
        assert!(has_pair(&a, "-m", "1024M"));
    }

    #[test]
    fn too_little_memory_per_node_is_refused() {
        let e = args_for("4,4,1,1", 128).unwrap_err();
        assert!(e.to_string().contains("per NUMA node"), "{e}");
    }

    #[test]
    fn cmdline_names_the_wire() {
        let a = args_for("1,1,1,1", 256).unwrap();
        let append = a.iter().skip_while(|s| *s != "-append").nth(1).unwrap();
        assert!(
            append.contains("ktstr.wire=ivshmem")
                && append.contains("panic=-1")
                && append.contains("lpj="),
            "{append}"
        );
    }

    #[test]
    fn a_scratch_disk_is_a_virtio_blk_drive_only_when_asked_for() {
        let spec = VmSpec::new(
            PathBuf::from("/k"),
            PathBuf::from("/i"),
            "1,2,2,1".parse().unwrap(),
        );
        let mut files = RunFiles {
            ring: Path::new("/r"),
            serial_wire: Path::new("/w"),
            scratch: None,
        };
        let a = qemu_args(&spec, Accel::Tcg, &files).unwrap();
        assert!(!a.iter().any(|w| w.contains("virtio-blk")), "{a:?}");
        files.scratch = Some(Path::new("/run,dir/scratch.img"));
        let a = qemu_args(&spec, Accel::Tcg, &files).unwrap();
        assert!(has_pair(
            &a,
            "-drive",
            "file=/run,,dir/scratch.img,format=raw,if=none,id=scratch,cache=writeback"
        ));
        assert!(has_pair(&a, "-device", "virtio-blk-pci,drive=scratch"));
    }
}
