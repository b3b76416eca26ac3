//! The fault matrix, as far as it runs here: each fault against a real run
//! (real kernel, QEMU, EEVDF), with the classification and exit code it
//! must give and nothing left behind — no VM directory, no process using
//! it, no half-written run record. Faults of the guest runtime itself are
//! injected by the runtime (`ktstr run --guest-fault`, a hidden option for
//! these tests): nothing else can make ktstr's own PID 1 crash on demand.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A scenario of two spinners for `ms`: 6 s is long enough to hit a run
/// mid-way, 2 s is enough for the guest-runtime faults.
fn spinners(name: &str, ms: u32) -> String {
    format!(
        "name = \"{name}\"\ndescription = \"spinners for {ms} ms\"\nduration_ms = {ms}\n\n\
         [[cgroups]]\nname = \"a\"\n\n[[cgroups.workers]]\ncount = 2\nwork = {{ type = \"spin\" }}\n"
    )
}

struct Setup {
    dir: tempfile::TempDir,
    vm: std::path::PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let vm = dir.path().join("vm");
        std::fs::create_dir(&vm).unwrap();
        std::fs::write(dir.path().join("long.toml"), spinners("long-steady", 6000)).unwrap();
        std::fs::write(
            dir.path().join("short.toml"),
            spinners("short-steady", 2000),
        )
        .unwrap();
        Setup { dir, vm }
    }
    fn vm_dir(&self) -> &Path {
        &self.vm
    }
    fn results(&self) -> String {
        self.dir.path().join("results").display().to_string()
    }
    fn spawn_run(&self) -> Child {
        self.spawn_scenario("long.toml", &[])
    }
    /// `ktstr run -c FILE --json` with `extra` arguments, into this setup's
    /// VM directory and results store.
    fn spawn_scenario(&self, file: &str, extra: &[&str]) -> Child {
        common::ktstr()
            .args([
                "run",
                "-c",
                self.dir.path().join(file).to_str().unwrap(),
                "--json",
            ])
            .args(extra)
            .args(["--results", &self.results()])
            .env("KTSTR_RUN_DIR", self.vm_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
    /// Waits until the VM has started and then `after` more.
    fn wait_for_vm(&self, after: Duration) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::fs::read_dir(self.vm_dir()).unwrap().next().is_none() {
            assert!(Instant::now() < deadline, "the VM never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(after);
    }
    /// Processes whose command line mentions the VM directory (QEMU).
    fn processes_using_it(&self) -> Vec<i32> {
        processes_under(self.vm_dir())
            .into_iter()
            .map(|(pid, _)| pid)
            .collect()
    }
    /// Nothing of the VM is left, and the results store holds only whole records.
    fn assert_clean(&self) {
        let left: Vec<_> = std::fs::read_dir(self.vm_dir())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "VM files left behind: {left:?}");
        assert!(
            self.processes_using_it().is_empty(),
            "a process still uses the VM directory"
        );
        if let Ok(d) = std::fs::read_dir(self.dir.path().join("results/runs")) {
            for e in d.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                assert!(
                    !name.starts_with(".incoming"),
                    "a half-written record: {name}"
                );
            }
        }
    }
    fn stored_runs(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("results/runs")).map_or(0, |d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
    }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: sends a signal to a process this test started (or its QEMU child).
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig})");
}

fn qemu_killed_mid_run_is_a_judged_failure_and_nothing_is_left() {
    let s = Setup::new();
    let child = s.spawn_run();
    s.wait_for_vm(Duration::from_secs(4));
    let qemu = s.processes_using_it();
    assert!(!qemu.is_empty(), "no QEMU process found");
    for pid in qemu {
        signal(pid, libc::SIGKILL);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a killed VM is a failed run (exit 1)\n{stderr}"
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = common::failed_checks(&r[0]);
    assert!(
        failed.iter().any(|c| c == "vm"),
        "the vm check must fail: {failed:?}"
    );
    let vm = r[0]["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "vm")
        .unwrap();
    assert!(
        vm.to_string().contains("signal 9") || vm.to_string().contains("SIGKILL"),
        "{vm}"
    );
    assert_eq!(s.stored_runs(), 1, "the judged run is stored");
    s.assert_clean();
}

fn ctrl_c_during_a_run_exits_130_and_stores_nothing() {
    let s = Setup::new();
    let child = s.spawn_run();
    s.wait_for_vm(Duration::from_secs(4));
    signal(child.id() as i32, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.stored_runs(), 0, "an interrupted run is not a result");
    s.assert_clean();
}

fn a_second_ctrl_c_still_cleans_up() {
    let s = Setup::new();
    let child = s.spawn_run();
    s.wait_for_vm(Duration::from_secs(3));
    signal(child.id() as i32, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(50));
    signal(child.id() as i32, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.assert_clean();
}

fn two_runs_at_once_both_succeed_into_one_store() {
    let s = Setup::new();
    let (a, b) = (s.spawn_run(), s.spawn_run());
    for (name, child) in [("first", a), ("second", b)] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(s.stored_runs(), 2);
    let out = Command::new(env!("CARGO_BIN_EXE_ktstr"))
        .args(["results", "list", "--json", "--results", &s.results()])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "both runs are indexed");
    s.assert_clean();
}

/// Runs the short scenario with `--guest-fault FAULT`; exit code, the `vm`
/// check's JSON and the whole record.
fn run_with_guest_fault(s: &Setup, fault: &str) -> (Option<i32>, String, serde_json::Value) {
    let out = s
        .spawn_scenario("short.toml", &["--guest-fault", fault])
        .wait_with_output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}); stderr:\n{stderr}"));
    let vm = r[0]["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "vm")
        .unwrap()
        .to_string();
    (out.status.code(), vm, r[0].clone())
}

fn a_panicking_guest_runtime_is_a_judged_failure_with_its_text() {
    let s = Setup::new();
    let (code, vm, r) = run_with_guest_fault(&s, "panic");
    assert_eq!(code, Some(1), "{vm}");
    assert!(common::failed_checks(&r).contains(&"vm".into()), "{vm}");
    // The runtime caught its panic and said so in its final message: not a
    // kernel panic for killing init.
    assert!(vm.contains("guest runtime panicked at"), "{vm}");
    assert!(vm.contains("injected fault"), "{vm}");
    assert!(!vm.contains("kernel panic"), "{vm}");
    assert_eq!(s.stored_runs(), 1, "the judged run is stored");
    s.assert_clean();
}

fn a_guest_runtime_that_dies_is_named_from_the_kernel_panic() {
    let s = Setup::new();
    let (code, vm, _) = run_with_guest_fault(&s, "abort");
    assert_eq!(code, Some(1), "{vm}");
    // PID 1 cannot be killed by SIGABRT, so abort() ends in a fault: the
    // kernel then panics for killing init, and the check says whose death it was.
    assert!(vm.contains("Attempted to kill init"), "{vm}");
    assert!(
        vm.contains("the guest runtime, PID 1, was killed by signal"),
        "{vm}"
    );
    assert_eq!(s.stored_runs(), 1);
    s.assert_clean();
}

fn a_guest_powering_off_early_is_a_run_without_a_result() {
    let s = Setup::new();
    let (code, vm, _) = run_with_guest_fault(&s, "poweroff");
    assert_eq!(code, Some(1), "{vm}");
    assert!(vm.contains("vm exited without a result"), "{vm}");
    assert!(vm.contains("never sent its final message"), "{vm}");
    assert_eq!(s.stored_runs(), 1);
    s.assert_clean();
}

/// The peak resident memory of `pid` (VmHWM), KiB; 0 once it is gone.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn a_wire_flood_is_counted_judged_and_host_memory_stays_bounded() {
    let s = Setup::new();
    // 1 GiB of 1 MiB frames and 100 000 log lines, as fast as the ring drains.
    let mut child = s.spawn_scenario("short.toml", &["--guest-fault", "flood:1024"]);
    let pid = child.id();
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(peak_rss_kib(pid));
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = common::failed_checks(&r[0]);
    assert_eq!(out.status.code(), Some(1));
    // Only the wire is blamed: the evidence (workers, phases) still arrived
    // and was judged.
    assert_eq!(failed, ["vm"], "{}", r[0]["verdict"]);
    let vm = r[0]["verdict"]["checks"].to_string();
    // `the host did not keep N messages (X MB): ...`: the flood did arrive.
    let dropped_mb: f64 = vm
        .split_once("the host did not keep ")
        .and_then(|(_, rest)| rest.split_once(" MB)"))
        .and_then(|(head, _)| head.rsplit_once('(')?.1.parse().ok())
        .unwrap_or_else(|| panic!("no host drop in the vm check: {vm}"));
    assert!(
        dropped_mb > 800.0,
        "only {dropped_mb} MB of the flood reached the host: {vm}"
    );
    // The host keeps at most 160 MiB of messages; unbounded, it would hold
    // the whole GiB (and a copy for the verdict).
    assert!(peak > 0, "ktstr's memory was never read");
    assert!(
        peak < 400 << 10,
        "ktstr peaked at {} MiB during a 1 GiB flood",
        peak >> 10
    );
    eprintln!(
        "flood: {dropped_mb} MB not kept, ktstr peaked at {} MiB",
        peak >> 10
    );
    s.assert_clean();
}

/// Why the build rows cannot run here: they build from Debian's kernel
/// source into a cache of their own.
fn kernel_source_missing() -> Option<String> {
    let tarball = "/usr/src/linux-source-6.12.tar.xz";
    (!Path::new(tarball).is_file())
        .then(|| format!("`{tarball}` is missing (apt-get install linux-source-6.12)"))
}

/// Why the scheduler build row cannot run here: the scx build scripts need
/// clang, and `cargo install` needs crates.io.
fn scheduler_build_unavailable() -> Option<String> {
    use std::net::ToSocketAddrs;
    if Command::new("clang-19").arg("--version").output().is_err() {
        return Some("clang-19 is not installed (apt-get install clang-19)".into());
    }
    let reachable = ("index.crates.io", 443)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(3)).is_ok());
    (!reachable).then(|| "crates.io is not reachable from here".into())
}

/// Processes whose command line or working directory names `dir`.
fn processes_under(dir: &Path) -> Vec<(i32, String)> {
    let marker = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| {
            let pid: i32 = p.file_name().to_str()?.parse().ok()?;
            let cmdline = String::from_utf8_lossy(&std::fs::read(p.path().join("cmdline")).ok()?)
                .replace('\0', " ");
            let cwd = std::fs::read_link(p.path().join("cwd")).unwrap_or_default();
            (cmdline.contains(&marker) || cwd.starts_with(dir)).then_some((pid, cmdline))
        })
        .collect()
}

/// Waits up to `limit` for `ready`; panics with `what` otherwise.
fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends SIGINT to `child` and returns its exit code, stderr and how long it took.
fn interrupt(child: Child) -> (Option<i32>, String, Duration) {
    let asked = Instant::now();
    signal(child.id() as i32, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        asked.elapsed(),
    )
}

fn ctrl_c_stops_a_kernel_build_and_a_second_build_of_that_kernel_waits() {
    let cache = tempfile::tempdir().unwrap();
    let build = || {
        common::ktstr()
            .args(["kernel", "build", "--jobs", "2"])
            .env("KTSTR_CACHE_DIR", cache.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = build();
    // Extract and configure take ~25 s; then `make bzImage` runs compilers.
    wait_until(
        Duration::from_secs(180),
        "the first build's compilers",
        || {
            processes_under(cache.path())
                .iter()
                .any(|(_, c)| c.contains("bzImage"))
        },
    );
    let second = build();
    std::thread::sleep(Duration::from_secs(3));
    let (code, stderr, took) = interrupt(second);
    assert_eq!(code, Some(130), "the waiting build: {stderr}");
    assert!(
        stderr.contains("wait for another build of this kernel"),
        "the second build must wait for the first: {stderr}"
    );
    assert!(
        took < Duration::from_secs(5),
        "its wait ended {took:?} after Ctrl-C"
    );
    assert!(
        processes_under(cache.path())
            .iter()
            .any(|(_, c)| c.contains("bzImage")),
        "the first build's make must still run"
    );

    let (code, stderr, took) = interrupt(first);
    assert_eq!(code, Some(130), "the building one: {stderr}");
    assert!(
        stderr.contains("interrupted during `build kernel`"),
        "{stderr}"
    );
    assert!(
        took < Duration::from_secs(15),
        "it stopped {took:?} after Ctrl-C"
    );
    // Nothing of the build runs on, and no entry, whole or partial, was installed.
    wait_until(
        Duration::from_secs(5),
        "the build's processes to end",
        || processes_under(cache.path()).is_empty(),
    );
    let entries: Vec<_> = std::fs::read_dir(cache.path().join("kernels"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        entries.is_empty(),
        "cache entries after Ctrl-C: {entries:?}"
    );
}

fn ctrl_c_stops_a_scheduler_build_and_installs_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let child = common::ktstr()
        .args(["scheduler", "build", "scx_bpfland@1.1.4", "--force"])
        .env("KTSTR_CACHE_DIR", cache.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(120), "rustc under the build", || {
        processes_under(cache.path())
            .iter()
            .any(|(_, c)| c.contains("rustc") || c.contains("build-script"))
    });
    let (code, stderr, took) = interrupt(child);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted during `build scx_bpfland`"),
        "{stderr}"
    );
    assert!(
        took < Duration::from_secs(15),
        "it stopped {took:?} after Ctrl-C"
    );
    wait_until(Duration::from_secs(5), "cargo and rustc to end", || {
        processes_under(cache.path()).is_empty()
    });
    let dir = cache.path().join("schedulers");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // The lock file stays by design (flock on an open file).
                .filter(|n| n.starts_with("scx_bpfland-") || n.starts_with(".install-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "scheduler entries after Ctrl-C: {left:?}");
}

/// A small tmpfs mounted on a temporary directory: a disk that fills up.
/// Unmounted (lazily, so a process still in it cannot keep it) on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { dir }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    /// Fills what is left with one file.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path().join("filler")).unwrap();
        let block = vec![0u8; 64 << 10];
        while f.write_all(&block).is_ok() {}
        let _ = f.write_all(&[0u8; 512]);
    }
    /// Every file under the disk but the filler, as paths relative to it.
    fn files(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, root, out);
                } else if p.file_name().is_some_and(|n| n != "filler") {
                    out.push(p.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(self.path(), self.path(), &mut out);
        out
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Why the full-disk rows cannot run here: they mount a small tmpfs.
fn cannot_mount() -> Option<String> {
    if let Some(why) = common::vm_missing() {
        return Some(why);
    }
    let Ok(dir) = tempfile::tempdir() else {
        return Some("cannot make a temporary directory to mount on".into());
    };
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        let _ = Command::new("umount").arg(dir.path()).status();
        None
    } else {
        Some("cannot mount a tmpfs here (needs root)".into())
    }
}

/// The newest cached kernel's directory in the real cache.
fn cached_kernel() -> std::path::PathBuf {
    let out = common::run(&["kernel", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list[0]["dir"].as_str().unwrap().into()
}

fn a_full_disk_while_writing_the_initramfs_is_refused_before_booting() {
    let s = Setup::new();
    // The cache (where guest images are written) on a 1 MiB disk; the
    // kernel comes from the real cache by path.
    let disk = SmallDisk::mount("1m");
    let out = common::ktstr()
        .args([
            "run",
            "-c",
            s.dir.path().join("short.toml").to_str().unwrap(),
        ])
        .args([
            "--kernel",
            cached_kernel().join("bzImage").to_str().unwrap(),
            "--results",
            &s.results(),
        ])
        .env("KTSTR_CACHE_DIR", disk.path())
        .env("KTSTR_RUN_DIR", s.vm_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains("initramfs"),
        "the error names where: {stderr}"
    );
    assert_eq!(disk.files(), Vec::<String>::new(), "half-written files");
    assert_eq!(s.stored_runs(), 0);
    s.assert_clean();
}

fn a_full_disk_while_storing_the_record_is_an_error_and_no_half_record() {
    let s = Setup::new();
    let disk = SmallDisk::mount("2m");
    let results = disk.path().join("results");
    let results = results.to_str().unwrap();
    // An empty store (its index) first, then a full disk.
    let out = common::run(&["results", "list", "--results", results]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = disk.files();
    disk.fill();
    let out = common::ktstr()
        .args([
            "run",
            "-c",
            s.dir.path().join("short.toml").to_str().unwrap(),
        ])
        .args(["--results", results])
        .env("KTSTR_RUN_DIR", s.vm_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("failed to store the record of run"),
        "{stderr}"
    );
    assert!(stderr.contains("No space left on device"), "{stderr}");
    // The run was judged: its verdict is shown even though it is not stored.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("short-steady (1n2l2c1t, eevdf)"),
        "{stdout}"
    );
    assert_eq!(disk.files(), before, "nothing half-written in the store");
    s.assert_clean();
}

/// The real cache's root (where setup built the kernel and scx_bpfland).
fn real_cache() -> std::path::PathBuf {
    cached_kernel().ancestors().nth(2).unwrap().to_path_buf()
}

/// Why the corrupted-scheduler row cannot run here.
fn bpfland_missing() -> Option<String> {
    common::vm_missing().or_else(|| {
        (!real_cache().join("schedulers/scx_bpfland-1.1.4").is_dir()).then(|| {
            "scx_bpfland 1.1.4 is not built (ktstr scheduler build scx_bpfland@1.1.4)".into()
        })
    })
}

fn a_corrupted_cached_scheduler_is_refused_before_booting() {
    let s = Setup::new();
    // A cache of its own: the real kernels, a copy of scx_bpfland with one
    // byte of its binary changed.
    let cache = tempfile::tempdir().unwrap();
    let real = real_cache();
    std::os::unix::fs::symlink(real.join("kernels"), cache.path().join("kernels")).unwrap();
    let entry = cache.path().join("schedulers/scx_bpfland-1.1.4");
    std::fs::create_dir_all(entry.join("bin")).unwrap();
    let from = real.join("schedulers/scx_bpfland-1.1.4");
    std::fs::copy(from.join("meta.json"), entry.join("meta.json")).unwrap();
    let mut binary = std::fs::read(from.join("bin/scx_bpfland")).unwrap();
    let middle = binary.len() / 2;
    binary[middle] ^= 0xff;
    std::fs::write(entry.join("bin/scx_bpfland"), binary).unwrap();

    let out = common::ktstr()
        .args(["run", "-s", "scx_bpfland", "-c"])
        .arg(s.dir.path().join("short.toml"))
        .args(["--results", &s.results()])
        .env("KTSTR_CACHE_DIR", cache.path())
        .env("KTSTR_RUN_DIR", s.vm_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is corrupt: sha256"), "{stderr}");
    assert!(
        stderr.contains("hint: rebuild it with `ktstr scheduler build scx_bpfland --force`"),
        "the error names the fix: {stderr}"
    );
    assert_eq!(s.stored_runs(), 0);
    s.assert_clean();
}

fn main() {
    common::main(common::cases![
        [common::vm_missing] qemu_killed_mid_run_is_a_judged_failure_and_nothing_is_left,
        [common::vm_missing] ctrl_c_during_a_run_exits_130_and_stores_nothing,
        [common::vm_missing] a_second_ctrl_c_still_cleans_up,
        [common::vm_missing] two_runs_at_once_both_succeed_into_one_store,
        [common::vm_missing] a_panicking_guest_runtime_is_a_judged_failure_with_its_text,
        [common::vm_missing] a_guest_runtime_that_dies_is_named_from_the_kernel_panic,
        [common::vm_missing] a_guest_powering_off_early_is_a_run_without_a_result,
        [common::vm_missing] a_wire_flood_is_counted_judged_and_host_memory_stays_bounded,
        [kernel_source_missing] ctrl_c_stops_a_kernel_build_and_a_second_build_of_that_kernel_waits,
        [scheduler_build_unavailable] ctrl_c_stops_a_scheduler_build_and_installs_nothing,
        [cannot_mount] a_full_disk_while_writing_the_initramfs_is_refused_before_booting,
        [cannot_mount] a_full_disk_while_storing_the_record_is_an_error_and_no_half_record,
        [bpfland_missing] a_corrupted_cached_scheduler_is_refused_before_booting,
    ]);
}
