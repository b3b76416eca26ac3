//! Building a kernel and its example schedulers into the cache.
//!
//! The pipeline: extract (tarball only) → configure (`tinyconfig`, merge
//! the fragment, `olddefconfig`) → check required options → `make bzImage`
//! → `make -C tools/sched_ext` → install into `<root>/kernels/<id>/`.
//! Every make runs with `O=` pointing into `<root>/build/<id>/`, so a
//! user's tree stays clean and a repeated build of one id is incremental.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::cache::{BZIMAGE, CONFIG, META_FILE, SCHEDULERS_DIR, SYSTEM_MAP, VMLINUX};
use crate::run::{make, run_captured, run_streamed, BuildLock};
use crate::source::{cache_id_for, fragment_sha256};
use crate::{config, CachedKernel, Flavor, KernelCache, KernelError, KernelMeta, KernelSource};

/// The schedulers built with the kernel's `tools/sched_ext`: the tree's
/// examples, and ktstr's own fault-injection scheduler ([`FAULT_SCHEDULER`]).
pub const SCHEDULERS: &[&str] = &[
    "scx_simple",
    "scx_qmap",
    "scx_central",
    "scx_flatcg",
    FAULT_SCHEDULER,
];

/// ktstr's fault-injection scheduler: a global FIFO whose flags each seed one
/// scheduler bug into one cgroup (`-c NAME`: `-d MS` first-run delay, `-w MS`
/// wake-up delay, `-n` never run, `-u PCT` short slices, `-e MS` unregister
/// from BPF). Sources in `kernel/sched/`, built with the tree's `tools/sched_ext`.
pub const FAULT_SCHEDULER: &str = "scx_ktstr_fault";

/// The fault scheduler's sources, copied into `tools/sched_ext` for the build.
pub(crate) const FAULT_SOURCES: &[(&str, &str)] = &[
    (
        "scx_ktstr_fault.bpf.c",
        include_str!("../sched/scx_ktstr_fault.bpf.c"),
    ),
    (
        "scx_ktstr_fault.c",
        include_str!("../sched/scx_ktstr_fault.c"),
    ),
];

/// `LLVM=` for `tools/sched_ext`: Debian 12 ships clang as `clang-19`.
const LLVM_SUFFIX: &str = "-19";

/// What to build and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// Where the kernel source comes from.
    pub source: KernelSource,
    /// Rebuild (incrementally) and replace the entry even if it is cached.
    pub force: bool,
    /// Parallel make jobs (`-j`); 0 is treated as 1.
    pub jobs: usize,
    /// Which configuration: the lean default or the lockdep debug kernel.
    pub flavor: Flavor,
}

impl Default for BuildOptions {
    /// Debian's tarball, no force, one job per available CPU.
    fn default() -> Self {
        BuildOptions {
            source: KernelSource::default(),
            force: false,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            flavor: Flavor::Default,
        }
    }
}

/// Progress of [`KernelCache::build`], for a renderer such as
/// [`crate::indicatif_progress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// A new stage began: `cached`, `extract`, `configure`, `build kernel`,
    /// `build schedulers`, `install`, or a wait for another build's lock.
    Stage(String),
    /// One line of a build command's output, e.g. `  CC      kernel/sched/core.o`.
    Line(String),
    /// The build finished successfully (or was already cached).
    Done,
}

impl KernelCache {
    /// Builds the kernel for `opts` into the cache, or returns the cached
    /// entry if this source and fragment were built before (unless
    /// `opts.force`).
    ///
    /// # Errors
    ///
    /// [`KernelError::SourceNotFound`] for a missing source,
    /// [`KernelError::MissingOptions`] if the configured kernel lacks a
    /// required option, [`KernelError::BuildFailed`] with the output's tail
    /// if a stage fails, [`KernelError::SchedulerMissing`] if
    /// `tools/sched_ext` did not produce a scheduler, or an I/O error.
    pub fn build(
        &self,
        opts: &BuildOptions,
        progress: &mut dyn FnMut(BuildEvent),
    ) -> Result<CachedKernel, KernelError> {
        let started = Instant::now();
        let identity = opts.source.identity()?;
        let fragment = opts.flavor.fragment();
        let patches = crate::patches_for(&opts.source);
        let id = cache_id_for(&identity, &crate::patches::recipe_text(&fragment, patches));
        let current = |k: &CachedKernel| k.meta.schedulers_sha256 == schedulers_sha256();
        if !opts.force {
            if let Some(kernel) = self.lookup(&id)?.filter(current) {
                return Ok(cached(kernel, progress));
            }
        }
        let build_root = self.build_root();
        fs::create_dir_all(&build_root).map_err(KernelError::io("create", &build_root))?;
        let _lock = BuildLock::acquire(&build_root.join(format!("{id}.lock")), progress)?;
        let existing = self.lookup(&id)?;
        if !opts.force {
            // Another process may have finished this kernel while we waited.
            if let Some(kernel) = existing.clone().filter(current) {
                return Ok(cached(kernel, progress));
            }
        }

        let dirs = BuildDirs::new(build_root.join(&id));
        fs::create_dir_all(&dirs.out).map_err(KernelError::io("create", &dirs.out))?;
        fs::create_dir_all(&dirs.scx).map_err(KernelError::io("create", &dirs.scx))?;
        let src = match &opts.source {
            KernelSource::DebianTarball(tarball) => {
                extract(tarball, &dirs.root, patches, progress)?
            }
            KernelSource::Tree(tree) => tree
                .canonicalize()
                .map_err(KernelError::io("resolve kernel tree", tree))?,
        };
        let jobs = format!("-j{}", opts.jobs.max(1));

        // The kernel is cached but the schedulers built with it changed (the
        // fault scheduler's sources): rebuild only those, in seconds.
        if let (false, Some(old)) = (opts.force, existing) {
            if dirs.out.join("vmlinux").is_file() {
                progress(BuildEvent::Stage(
                    "build schedulers (their sources changed)".to_owned(),
                ));
                let scx_started = Instant::now();
                build_schedulers(&src, &dirs, &jobs, progress)?;
                progress(BuildEvent::Stage("install".to_owned()));
                let meta = KernelMeta {
                    scheduler_build_seconds: scx_started.elapsed().as_secs_f64(),
                    schedulers: SCHEDULERS.iter().map(|s| (*s).to_owned()).collect(),
                    schedulers_sha256: schedulers_sha256(),
                    ..old.meta
                };
                let kernel = self.install(&dirs, meta)?;
                progress(BuildEvent::Done);
                return Ok(kernel);
            }
        }

        progress(BuildEvent::Stage("configure".to_owned()));
        configure(&src, &dirs, opts.flavor, progress)?;

        progress(BuildEvent::Stage("build kernel".to_owned()));
        let kernel_started = Instant::now();
        let mut cmd = make();
        cmd.arg("-C")
            .arg(&src)
            .arg(dirs.o_arg())
            .arg(&jobs)
            .arg("bzImage");
        run_streamed("build kernel", cmd, progress)?;
        let kernel_seconds = kernel_started.elapsed().as_secs_f64();

        progress(BuildEvent::Stage("build schedulers".to_owned()));
        let scx_started = Instant::now();
        build_schedulers(&src, &dirs, &jobs, progress)?;
        let scx_seconds = scx_started.elapsed().as_secs_f64();

        progress(BuildEvent::Stage("install".to_owned()));
        let bzimage = dirs.out.join("arch/x86/boot/bzImage");
        let meta = KernelMeta {
            id: id.clone(),
            version: kernel_release(&src, &dirs.out)?,
            source: identity,
            fragment_sha256: fragment_sha256(&fragment),
            flavor: opts.flavor,
            build_seconds: started.elapsed().as_secs_f64(),
            kernel_build_seconds: kernel_seconds,
            scheduler_build_seconds: scx_seconds,
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            bzimage_bytes: fs::metadata(&bzimage)
                .map_err(KernelError::io("inspect", &bzimage))?
                .len(),
            bzimage_sha256: Some(
                crate::cache::file_sha256(&bzimage).map_err(KernelError::io("hash", &bzimage))?,
            ),
            schedulers: SCHEDULERS.iter().map(|s| (*s).to_owned()).collect(),
            schedulers_sha256: schedulers_sha256(),
            patches: patches.iter().map(|p| p.name.to_owned()).collect(),
        };
        let kernel = self.install(&dirs, meta)?;
        progress(BuildEvent::Done);
        Ok(kernel)
    }

    /// Copies the build's products into a temporary entry directory and
    /// renames it into place, so readers never see a partial entry.
    fn install(&self, dirs: &BuildDirs, meta: KernelMeta) -> Result<CachedKernel, KernelError> {
        let kernels = self.kernels_dir();
        fs::create_dir_all(&kernels).map_err(KernelError::io("create", &kernels))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".tmp-{}-", meta.id))
            .tempdir_in(&kernels)
            .map_err(KernelError::io("create a temporary directory in", &kernels))?;
        let files = [
            (dirs.out.join("arch/x86/boot/bzImage"), BZIMAGE),
            (dirs.out.join("vmlinux"), VMLINUX),
            (dirs.out.join(".config"), CONFIG),
            (dirs.out.join("System.map"), SYSTEM_MAP),
        ];
        for (from, name) in files {
            copy(&from, &tmp.path().join(name))?;
        }
        let sched_dir = tmp.path().join(SCHEDULERS_DIR);
        fs::create_dir(&sched_dir).map_err(KernelError::io("create", &sched_dir))?;
        for name in &meta.schedulers {
            copy(&dirs.scx_bin().join(name), &sched_dir.join(name))?;
        }
        let meta_path = tmp.path().join(META_FILE);
        let json = serde_json::to_string_pretty(&meta).expect("KernelMeta serializes");
        fs::write(&meta_path, json + "\n").map_err(KernelError::io("write", &meta_path))?;

        let dest = kernels.join(&meta.id);
        crate::cache::replace_entry(tmp.path(), &dest)?;
        // `tmp` now names a path that no longer exists; dropping it is a no-op.
        CachedKernel::load(&dest)
    }
}

fn cached(kernel: CachedKernel, progress: &mut dyn FnMut(BuildEvent)) -> CachedKernel {
    progress(BuildEvent::Stage("cached".to_owned()));
    progress(BuildEvent::Done);
    kernel
}

/// The directories of one id's build, all under `<root>/build/<id>/`.
struct BuildDirs {
    root: PathBuf,
    /// Kernel objects (`make O=`).
    out: PathBuf,
    /// `tools/sched_ext` output (`make O=`); binaries land in `build/bin/`.
    scx: PathBuf,
}

impl BuildDirs {
    fn new(root: PathBuf) -> BuildDirs {
        BuildDirs {
            out: root.join("out"),
            scx: root.join("scx"),
            root,
        }
    }

    fn o_arg(&self) -> String {
        format!("O={}", self.out.display())
    }

    fn scx_bin(&self) -> PathBuf {
        self.scx.join("build/bin")
    }
}

/// Extracts `tarball` under `<build>/src/` (reusing a complete earlier
/// extraction) and returns the kernel tree inside it.
fn extract(
    tarball: &Path,
    build: &Path,
    patches: &[crate::KernelPatch],
    progress: &mut dyn FnMut(BuildEvent),
) -> Result<PathBuf, KernelError> {
    let src = build.join("src");
    if !src.is_dir() {
        progress(BuildEvent::Stage("extract".to_owned()));
        // Extract beside and rename, so an interrupted extraction is redone
        // rather than mistaken for a complete tree.
        let partial = build.join("src.partial");
        if partial.exists() {
            fs::remove_dir_all(&partial).map_err(KernelError::io("remove", &partial))?;
        }
        fs::create_dir_all(&partial).map_err(KernelError::io("create", &partial))?;
        let mut cmd = std::process::Command::new("tar");
        cmd.arg("-xf").arg(tarball).arg("-C").arg(&partial);
        run_streamed("extract", cmd, progress)?;
        // Patched before the rename: a tree under `src` is always complete.
        crate::patches::apply(&top_level_tree(&partial)?, patches, progress)?;
        fs::rename(&partial, &src).map_err(KernelError::io("rename", &partial))?;
    }
    top_level_tree(&src)
}

/// The kernel tree inside an extraction: the tarball holds one top-level
/// directory (e.g. linux-source-6.12/).
fn top_level_tree(dir: &Path) -> Result<PathBuf, KernelError> {
    let entries = fs::read_dir(dir).map_err(KernelError::io("read", dir))?;
    for entry in entries {
        let path = entry.map_err(KernelError::io("read", dir))?.path();
        if path.join("Makefile").is_file() {
            return Ok(path);
        }
    }
    Err(KernelError::NotAKernelTree {
        path: dir.to_path_buf(),
    })
}

/// `make tinyconfig`, merge the fragment, `make olddefconfig`, then check
/// the result against the required options.
fn configure(
    src: &Path,
    dirs: &BuildDirs,
    flavor: Flavor,
    progress: &mut dyn FnMut(BuildEvent),
) -> Result<(), KernelError> {
    let fragment = dirs.root.join("ktstr.fragment");
    fs::write(&fragment, flavor.fragment()).map_err(KernelError::io("write", &fragment))?;

    let mut cmd = make();
    cmd.arg("-C").arg(src).arg(dirs.o_arg()).arg("tinyconfig");
    run_streamed("configure (tinyconfig)", cmd, progress)?;

    // merge_config.sh puts temporary files in its working directory: run it
    // in the output directory so the source tree stays untouched. `-m` only
    // merges; olddefconfig below resolves dependencies.
    let mut cmd = std::process::Command::new(src.join("scripts/kconfig/merge_config.sh"));
    cmd.current_dir(&dirs.out)
        .arg("-m")
        .arg("-O")
        .arg(&dirs.out)
        .arg(dirs.out.join(".config"))
        .arg(&fragment);
    run_streamed("configure (merge fragment)", cmd, progress)?;

    let mut cmd = make();
    cmd.arg("-C").arg(src).arg(dirs.o_arg()).arg("olddefconfig");
    run_streamed("configure (olddefconfig)", cmd, progress)?;

    let config_path = dirs.out.join(".config");
    let text = fs::read_to_string(&config_path).map_err(KernelError::io("read", &config_path))?;
    config::check_flavor_config(flavor, &text)
}

/// Builds `tools/sched_ext` against the new vmlinux and checks every
/// scheduler in [`SCHEDULERS`] was produced.
fn build_schedulers(
    src: &Path,
    dirs: &BuildDirs,
    jobs: &str,
    progress: &mut dyn FnMut(BuildEvent),
) -> Result<(), KernelError> {
    // VMLINUX_BTF is explicit: the Makefile's fallback list ends with the
    // host's /sys/kernel/btf/vmlinux, which would silently generate
    // vmlinux.h for the wrong kernel.
    let tools = src.join("tools/sched_ext");
    // The Makefile compiles `<name>.c` from its own directory, so the fault
    // scheduler's sources go there for the build and are removed after, so a
    // user's tree is left as it was.
    let _sources = FaultSources::place(&tools)?;
    let mut cmd = make();
    cmd.arg("-C")
        .arg(&tools)
        .arg(format!("O={}", dirs.scx.display()))
        .arg(format!("LLVM={LLVM_SUFFIX}"))
        .arg(format!(
            "VMLINUX_BTF={}",
            dirs.out.join("vmlinux").display()
        ))
        .arg(format!("c-sched-targets={}", SCHEDULERS.join(" ")))
        .arg(jobs);
    run_streamed("build schedulers", cmd, progress)?;
    let bin = dirs.scx_bin();
    for name in SCHEDULERS {
        if !bin.join(name).is_file() {
            return Err(KernelError::SchedulerMissing {
                name: (*name).to_owned(),
                dir: bin,
            });
        }
    }
    Ok(())
}

/// SHA-256 over the scheduler list and the fault scheduler's sources: a
/// cached kernel whose entry records another value gets its schedulers rebuilt.
pub(crate) fn schedulers_sha256() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(SCHEDULERS.join(" ").as_bytes());
    for (name, text) in FAULT_SOURCES {
        h.update(name.as_bytes());
        h.update(text.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The fault scheduler's sources placed in a `tools/sched_ext` directory;
/// removed again when dropped.
struct FaultSources {
    paths: Vec<PathBuf>,
}

impl FaultSources {
    fn place(tools: &Path) -> Result<FaultSources, KernelError> {
        let mut placed = FaultSources { paths: Vec::new() };
        for (name, text) in FAULT_SOURCES {
            let path = tools.join(name);
            fs::write(&path, text).map_err(KernelError::io("write", &path))?;
            placed.paths.push(path);
        }
        Ok(placed)
    }
}

impl Drop for FaultSources {
    fn drop(&mut self) {
        for p in &self.paths {
            let _ = fs::remove_file(p);
        }
    }
}

/// The built kernel's release string (`include/config/kernel.release`),
/// falling back to `make kernelversion`.
fn kernel_release(src: &Path, out: &Path) -> Result<String, KernelError> {
    match fs::read_to_string(out.join("include/config/kernel.release")) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
        _ => make_kernelversion(src),
    }
}

/// `make -s kernelversion` in a source tree (writes nothing to the tree).
pub(crate) fn make_kernelversion(src: &Path) -> Result<String, KernelError> {
    let mut cmd = make();
    cmd.arg("-s").arg("-C").arg(src).arg("kernelversion");
    run_captured("read kernel version", cmd)
}

fn copy(from: &Path, to: &Path) -> Result<(), KernelError> {
    fs::copy(from, to)
        .map(drop)
        .map_err(KernelError::io("copy build output", from))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real thing: configures and builds the default kernel into a
    /// temporary cache. Minutes of CPU, so opt-in.
    #[test]
    #[ignore = "builds a real kernel (4-20 min on 2 cores); run with --ignored"]
    fn builds_the_default_kernel_when_asked() {
        let opts = BuildOptions::default();
        assert!(
            opts.source.path().exists(),
            "{} is not installed: run scripts/setup.sh",
            opts.source.path().display()
        );
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().to_owned());
        let mut stages = Vec::new();
        let kernel = cache
            .build(&opts, &mut |e| {
                if let BuildEvent::Stage(s) = e {
                    stages.push(s);
                }
            })
            .unwrap();
        assert!(stages.iter().any(|s| s == "build kernel"), "{stages:?}");
        crate::check_kernel_image(&kernel.bzimage()).unwrap();
        let config_text = fs::read_to_string(kernel.config()).unwrap();
        crate::check_config(&config_text).unwrap();
        for name in SCHEDULERS {
            assert!(kernel.scheduler(name).unwrap().is_file(), "{name}");
        }
        // A second build is a cache hit.
        let again = cache.build(&opts, &mut |_| {}).unwrap();
        assert_eq!(again, kernel);
    }

    #[test]
    fn cached_kernel_is_returned_without_building() {
        let tmp = tempfile::tempdir().unwrap();
        let tarball = tmp.path().join("linux-source-6.12.tar.xz");
        fs::write(&tarball, b"not really a tarball").unwrap();
        let source = KernelSource::DebianTarball(tarball);
        let cache = KernelCache::new(tmp.path().join("cache"));
        let id = crate::cache_id(&source).unwrap();
        let entry = crate::cache::tests::fake_entry(&cache, &id, 1);
        let mut events = Vec::new();
        let opts = BuildOptions {
            source,
            force: false,
            jobs: 1,
            flavor: Flavor::Default,
        };
        let got = cache.build(&opts, &mut |e| events.push(e)).unwrap();
        assert_eq!(got, entry);
        assert_eq!(
            events,
            [BuildEvent::Stage("cached".to_owned()), BuildEvent::Done]
        );
    }

    #[test]
    fn install_creates_then_replaces_an_entry_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().to_owned());
        let dirs = BuildDirs::new(tmp.path().join("build/abc"));
        let outputs = ["arch/x86/boot/bzImage", "vmlinux", ".config", "System.map"];
        for (i, rel) in outputs.iter().enumerate() {
            let path = dirs.out.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, format!("{i}")).unwrap();
        }
        fs::create_dir_all(dirs.scx_bin()).unwrap();
        fs::write(dirs.scx_bin().join("scx_simple"), "s").unwrap();
        let meta = |created| KernelMeta {
            id: "abc".to_owned(),
            version: "6.12.1".to_owned(),
            source: "test".to_owned(),
            fragment_sha256: fragment_sha256(crate::FRAGMENT),
            flavor: Flavor::Default,
            build_seconds: 1.0,
            kernel_build_seconds: 1.0,
            scheduler_build_seconds: 0.0,
            created_unix: created,
            bzimage_bytes: 1,
            bzimage_sha256: None,
            schedulers: vec!["scx_simple".to_owned()],
            schedulers_sha256: String::new(),
            patches: Vec::new(),
        };
        let first = cache.install(&dirs, meta(1)).unwrap();
        assert_eq!(fs::read_to_string(first.bzimage()).unwrap(), "0");
        assert_eq!(fs::read_to_string(first.config()).unwrap(), "2");
        assert!(first.scheduler("scx_simple").unwrap().is_file());

        let second = cache.install(&dirs, meta(2)).unwrap();
        assert_eq!(second.meta.created_unix, 2);
        // No temporary or moved-aside directories are left behind.
        let names: Vec<_> = fs::read_dir(cache.kernels_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["abc"]);
    }

    #[test]
    fn bad_tarball_fails_in_extract_with_output() {
        let tmp = tempfile::tempdir().unwrap();
        let tarball = tmp.path().join("linux-source-6.12.tar.xz");
        fs::write(&tarball, b"not really a tarball").unwrap();
        let cache = KernelCache::new(tmp.path().join("cache"));
        let opts = BuildOptions {
            source: KernelSource::DebianTarball(tarball),
            force: false,
            jobs: 1,
            flavor: Flavor::Default,
        };
        let err = cache.build(&opts, &mut |_| {}).unwrap_err();
        let KernelError::BuildFailed { stage, tail } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(stage, "extract");
        assert!(!tail.is_empty());
        // The half-extracted tree is not mistaken for a complete one.
        let build = cache
            .build_root()
            .join(crate::cache_id(&opts.source).unwrap());
        assert!(!build.join("src").exists());
    }
}
