//! Assembling the guest's initramfs: the runtime as `/init` plus its plan.

use std::path::PathBuf;

use ktstr_kernel::KernelCache;
use ktstr_model::{GuestPlan, PLAN_PATH};
use ktstr_vmm::initramfs::InitramfsBuilder;

use crate::RunError;

/// Environment variable naming the guest runtime binary, for unusual installs.
pub const GUEST_BIN_ENV: &str = "KTSTR_GUEST_BIN";

/// Which binary becomes the VM's `/init`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GuestRuntime {
    /// `$KTSTR_GUEST_BIN`, else `ktstr-guest` beside the running executable
    /// (cargo and `cargo install` put the two binaries in one directory).
    #[default]
    Beside,
    /// The running executable itself, which runs the guest runtime when it
    /// finds itself as PID 1 (a test binary built on the ktstr harness).
    CurrentExe,
    /// This binary.
    Path(PathBuf),
}

impl GuestRuntime {
    /// The binary on the host.
    ///
    /// # Errors
    ///
    /// [`RunError::GuestRuntimeMissing`] naming where it looked.
    pub fn binary(&self) -> Result<PathBuf, RunError> {
        let missing = |detail: String| RunError::GuestRuntimeMissing { detail };
        let exe = || {
            std::env::current_exe()
                .map_err(|e| missing(format!("the running executable is unknown: {e}")))
        };
        match self {
            GuestRuntime::Path(p) if p.is_file() => Ok(p.clone()),
            GuestRuntime::Path(p) => Err(missing(format!("`{}` does not exist", p.display()))),
            GuestRuntime::CurrentExe => exe(),
            GuestRuntime::Beside => {
                if let Some(p) = std::env::var_os(GUEST_BIN_ENV) {
                    let p = PathBuf::from(p);
                    return if p.is_file() {
                        Ok(p)
                    } else {
                        Err(missing(format!(
                            "`{}` (from ${GUEST_BIN_ENV}) does not exist",
                            p.display()
                        )))
                    };
                }
                let exe = exe()?;
                let dir = exe.parent().ok_or_else(|| {
                    missing(format!("`{}` has no parent directory", exe.display()))
                })?;
                // Integration tests run from target/<profile>/deps; the binaries sit one level up.
                [dir.join("ktstr-guest"), dir.join("../ktstr-guest")]
                    .into_iter()
                    .find(|p| p.is_file())
                    .ok_or_else(|| missing(format!("no `ktstr-guest` next to `{}`", exe.display())))
            }
        }
    }
}

/// A copy of the guest runtime without debug info, cached by the original's size
/// and mtime: a debug build is ~10x larger than what the guest needs, and every
/// byte is copied and unpacked on each boot. Falls back to the original when
/// `strip` (binutils) is missing.
fn stripped_guest(original: &std::path::Path, cache: &std::path::Path) -> PathBuf {
    let Ok(meta) = std::fs::metadata(original) else {
        return original.to_path_buf();
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let out = cache.join(format!("ktstr-guest-{}-{mtime}", meta.len()));
    if out.is_file() {
        return out;
    }
    let tmp = cache.join(format!(".ktstr-guest-{}.tmp", std::process::id()));
    let ok = std::process::Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&tmp)
        .arg(original)
        // Its complaint (a full disk, say) is not ours: the original is used.
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok && std::fs::rename(&tmp, &out).is_ok() {
        out
    } else {
        let _ = std::fs::remove_file(&tmp);
        original.to_path_buf()
    }
}

/// Builds (or reuses from the cache) the initramfs for `plan`, with `binaries`
/// (host path, guest path) and their libraries; returns its path.
pub(crate) fn build(
    runtime: &GuestRuntime,
    plan: &GuestPlan,
    binaries: &[(PathBuf, String)],
) -> Result<PathBuf, RunError> {
    let dir = KernelCache::default_location()?.root().join("initramfs");
    std::fs::create_dir_all(&dir).map_err(RunError::io("create", &dir))?;
    let mut builder = InitramfsBuilder::new()
        .init_binary(stripped_guest(&runtime.binary()?, &dir))
        .dir("/proc")
        .dir("/sys")
        .dir("/dev")
        .dir("/tmp")
        .file(PLAN_PATH, plan.to_bytes(), 0o644);
    for (host, guest) in binaries {
        builder = builder.binary(host.clone(), guest.clone());
    }
    let path = builder.write_cached(&dir)?;
    prune(&dir, &path);
    Ok(path)
}

/// Archives kept in the cache; each distinct plan makes one.
const KEEP_ARCHIVES: usize = 32;

/// Keeps the newest archives (and the one just used) and the newest stripped
/// guest, so the cache does not grow with every scenario ever run.
fn prune(dir: &std::path::Path, keep: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let named = |p: &PathBuf, prefix: &str, suffix: &str| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
    };
    let archives = files
        .iter()
        .filter(|(_, p)| named(p, "", ".cpio"))
        .skip(KEEP_ARCHIVES);
    let guests = files
        .iter()
        .filter(|(_, p)| named(p, "ktstr-guest-", ""))
        .skip(1);
    for (_, p) in archives.chain(guests) {
        if p != keep {
            let _ = std::fs::remove_file(p);
        }
    }
}
