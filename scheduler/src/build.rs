//! Building production schedulers: `cargo install` from crates.io, or
//! `cargo build` of a local scx checkout, into the [`SchedulerCache`].
//!
//! Every build shares one cargo target directory, so the crates the scx
//! schedulers have in common (libbpf-sys, scx_utils, ...) compile once.
//! The scx build scripts run `clang`, which Debian only ships as
//! `clang-19`: a shim directory with `clang -> clang-19` (and the llvm
//! tools) goes first on the builds' `PATH`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ktstr_kernel::{run_streamed, BuildEvent, BuildLock, KernelError};

use crate::cache::BuiltFrom;
use crate::diagnose::diagnose;
use crate::{BuiltScheduler, SchedulerCache, SchedulerError, SchedulerSpec};

/// Tools the scx build scripts call by their unsuffixed names.
const SHIMMED_TOOLS: &[&str] = &["clang", "llvm-strip", "llvm-objcopy", "llvm-ar", "llc"];

/// The suffix Debian 12's LLVM tools carry.
const LLVM_SUFFIX: &str = "-19";

/// What to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildRequest {
    /// A crate from crates.io (newest version unless the spec names one).
    Crate(SchedulerSpec),
    /// A local Cargo project; `package` selects the scheduler in a workspace
    /// (an scx checkout), `None` builds the directory's only binary package.
    Path {
        /// The project directory.
        dir: PathBuf,
        /// The package (and binary) name.
        package: Option<String>,
    },
}

/// How to build.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildSettings {
    /// Rebuild a crates.io version even if it is cached.
    pub force: bool,
    /// Parallel jobs for cargo (`None`: cargo's default, all CPUs).
    pub jobs: Option<usize>,
}

impl SchedulerCache {
    /// Builds `request` into the cache and returns the entry.
    ///
    /// A crates.io version that is already built is returned as is (unless
    /// `settings.force`). A local tree is always rebuilt (cargo's own
    /// incremental build makes that cheap), since its sources change.
    ///
    /// # Errors
    ///
    /// [`SchedulerError::BuildFailed`] with what is missing when the output
    /// says, [`SchedulerError::NoPackage`] for a directory without that
    /// scheduler, [`SchedulerError::NoBinary`], or an I/O error.
    pub fn build(
        &self,
        request: &BuildRequest,
        settings: &BuildSettings,
        progress: &mut dyn FnMut(BuildEvent),
    ) -> Result<BuiltScheduler, SchedulerError> {
        fs::create_dir_all(self.dir()).map_err(SchedulerError::io("create", self.dir()))?;
        match request {
            BuildRequest::Crate(spec) => self.build_crate(spec, settings, progress),
            BuildRequest::Path { dir, package } => {
                self.build_path(dir, package.as_deref(), settings, progress)
            }
        }
    }

    fn build_crate(
        &self,
        spec: &SchedulerSpec,
        settings: &BuildSettings,
        progress: &mut dyn FnMut(BuildEvent),
    ) -> Result<BuiltScheduler, SchedulerError> {
        if !settings.force && spec.version.is_some() {
            if let Ok(found) = self.find(spec) {
                progress(BuildEvent::Stage("cached".to_owned()));
                progress(BuildEvent::Done);
                return Ok(found);
            }
        }
        let lock_path = self.dir().join(format!("{}.lock", spec.name));
        let _lock = BuildLock::acquire(&lock_path, progress)?;
        let started = Instant::now();
        let root = tempfile::Builder::new()
            .prefix(&format!(".install-{}-", spec.name))
            .tempdir_in(self.dir())
            .map_err(SchedulerError::io(
                "create a temporary directory in",
                self.dir(),
            ))?;
        let mut cmd = self.cargo()?;
        cmd.arg("install")
            .arg("--locked")
            .arg("--root")
            .arg(root.path())
            .arg(&spec.name);
        if let Some(v) = &spec.version {
            cmd.arg("--version").arg(v);
        }
        if let Some(j) = settings.jobs {
            cmd.arg("--jobs").arg(j.max(1).to_string());
        }
        progress(BuildEvent::Stage(format!("build {spec} from crates.io")));
        self.run_build(&spec.name, cmd, progress)?;
        let version = installed_version(root.path(), &spec.name)?;
        let binary = root.path().join("bin").join(&spec.name);
        if !binary.is_file() {
            return Err(SchedulerError::NoBinary {
                name: spec.name.clone(),
                expected: binary,
            });
        }
        progress(BuildEvent::Stage("install".to_owned()));
        let meta = BuiltScheduler {
            name: spec.name.clone(),
            version: version.clone(),
            source: BuiltFrom::CratesIo,
            sha256: String::new(),
            build_seconds: started.elapsed().as_secs_f64(),
            created_unix: now_unix(),
            binary: PathBuf::new(),
        };
        let built = self.install(&format!("{}-{version}", spec.name), &binary, meta)?;
        progress(BuildEvent::Done);
        Ok(built)
    }

    fn build_path(
        &self,
        dir: &Path,
        package: Option<&str>,
        settings: &BuildSettings,
        progress: &mut dyn FnMut(BuildEvent),
    ) -> Result<BuiltScheduler, SchedulerError> {
        let dir = dir
            .canonicalize()
            .map_err(SchedulerError::io("resolve scheduler source", dir))?;
        let started = Instant::now();
        progress(BuildEvent::Stage("read the Cargo project".to_owned()));
        let (name, version) = crate::metadata::binary_package(&self.cargo()?, &dir, package)?;
        let lock_path = self.dir().join(format!("{name}.lock"));
        let _lock = BuildLock::acquire(&lock_path, progress)?;
        let mut cmd = self.cargo()?;
        cmd.arg("build")
            .arg("--release")
            .arg("--manifest-path")
            .arg(dir.join("Cargo.toml"))
            .arg("-p")
            .arg(&name)
            .arg("--bin")
            .arg(&name);
        if let Some(j) = settings.jobs {
            cmd.arg("--jobs").arg(j.max(1).to_string());
        }
        progress(BuildEvent::Stage(format!(
            "build {name} from {}",
            dir.display()
        )));
        self.run_build(&name, cmd, progress)?;
        let binary = self.target_dir().join("release").join(&name);
        if !binary.is_file() {
            return Err(SchedulerError::NoBinary {
                name: name.clone(),
                expected: binary,
            });
        }
        progress(BuildEvent::Stage("install".to_owned()));
        let (git_commit, git_dirty) = crate::metadata::git_state(&dir);
        let entry = format!("{name}-path-{}", short_hash(&dir.to_string_lossy()));
        let meta = BuiltScheduler {
            name,
            version,
            source: BuiltFrom::Path {
                dir,
                git_commit,
                git_dirty,
            },
            sha256: String::new(),
            build_seconds: started.elapsed().as_secs_f64(),
            created_unix: now_unix(),
            binary: PathBuf::new(),
        };
        let built = self.install(&entry, &binary, meta)?;
        progress(BuildEvent::Done);
        Ok(built)
    }

    /// `cargo` with the shared target dir and the tool shim first on PATH.
    fn cargo(&self) -> Result<Command, SchedulerError> {
        let shim = self.tool_shim()?;
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![shim];
        dirs.extend(std::env::split_paths(&path));
        let joined = std::env::join_paths(dirs).unwrap_or(path);
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.env("PATH", joined)
            .env("CARGO_TARGET_DIR", self.target_dir())
            .env("CARGO_TERM_COLOR", "never")
            .env("CARGO_TERM_PROGRESS_WHEN", "never")
            .env("LC_ALL", "C")
            // A parent cargo (tests, `cargo run`) must not leak its build
            // settings into this one.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("CARGO_MAKEFLAGS")
            .env_remove("MAKEFLAGS");
        Ok(cmd)
    }

    /// A directory with `clang`, `llvm-strip`, ... linked to their `-19`
    /// names, for the tools that are not already on PATH under the plain name.
    fn tool_shim(&self) -> Result<PathBuf, SchedulerError> {
        let shim = self.dir().join("shim");
        fs::create_dir_all(&shim).map_err(SchedulerError::io("create", &shim))?;
        for tool in SHIMMED_TOOLS {
            let link = shim.join(tool);
            if link.symlink_metadata().is_ok() {
                continue;
            }
            if let Some(target) = find_on_path(&format!("{tool}{LLVM_SUFFIX}")) {
                // Another process may create it at the same moment.
                match std::os::unix::fs::symlink(&target, &link) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(SchedulerError::io("create tool link", &link)(e)),
                }
            }
        }
        Ok(shim)
    }

    fn run_build(
        &self,
        name: &str,
        cmd: Command,
        progress: &mut dyn FnMut(BuildEvent),
    ) -> Result<(), SchedulerError> {
        match run_streamed(&format!("build {name}"), cmd, progress) {
            Ok(()) => Ok(()),
            Err(KernelError::BuildFailed { tail, .. }) => {
                let d = diagnose(&tail);
                Err(SchedulerError::BuildFailed {
                    name: name.to_owned(),
                    missing: d.missing,
                    hint: d.hint,
                    tail,
                })
            }
            Err(KernelError::Spawn { program, source }) => {
                Err(SchedulerError::Spawn { program, source })
            }
            Err(other) => Err(SchedulerError::Cache(other)),
        }
    }
}

/// The version `cargo install` recorded in `<root>/.crates2.json`.
fn installed_version(root: &Path, name: &str) -> Result<String, SchedulerError> {
    let path = root.join(".crates2.json");
    let text = fs::read_to_string(&path).map_err(SchedulerError::io("read", &path))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| SchedulerError::BadMeta {
            dir: root.to_owned(),
            message: e.to_string(),
        })?;
    // Keys look like "scx_bpfland 1.1.4 (registry+https://...)".
    json.get("installs")
        .and_then(|i| i.as_object())
        .and_then(|installs| {
            installs.keys().find_map(|k| {
                let mut words = k.split_whitespace();
                (words.next() == Some(name)).then(|| words.next().map(str::to_owned))?
            })
        })
        .ok_or_else(|| SchedulerError::BadMeta {
            dir: root.to_owned(),
            message: format!("no install of `{name}` recorded in .crates2.json"),
        })
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))[..10].to_owned()
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_version_reads_crates2_json() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join(".crates2.json"),
            r#"{"installs":{"scx_bpfland 1.1.4 (registry+https://github.com/rust-lang/crates.io-index)":{"bins":["scx_bpfland"]}}}"#,
        )
        .unwrap();
        assert_eq!(
            installed_version(tmp.path(), "scx_bpfland").unwrap(),
            "1.1.4"
        );
        assert!(installed_version(tmp.path(), "scx_lavd").is_err());
    }

    #[test]
    fn the_shim_links_clang_to_its_suffixed_name() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = SchedulerCache::new(tmp.path());
        let shim = cache.tool_shim().unwrap();
        // scripts/setup.sh installs clang-19.
        let real =
            find_on_path("clang-19").expect("clang-19 is not installed: run scripts/setup.sh");
        assert_eq!(fs::read_link(shim.join("clang")).unwrap(), real);
        // Idempotent.
        cache.tool_shim().unwrap();
    }

    /// A local project that is not a scheduler: cargo runs for real and the
    /// error names the directory.
    #[test]
    fn a_path_without_that_package_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("proj");
        fs::create_dir_all(proj.join("src")).unwrap();
        fs::write(
            proj.join("Cargo.toml"),
            "[package]\nname = \"not_a_sched\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
        )
        .unwrap();
        fs::write(proj.join("src/lib.rs"), "").unwrap();
        let cache = SchedulerCache::new(&tmp.path().join("cache"));
        let req = BuildRequest::Path {
            dir: proj.clone(),
            package: Some("scx_nope".into()),
        };
        let err = cache
            .build(&req, &BuildSettings::default(), &mut |_| {})
            .unwrap_err();
        assert!(matches!(err, SchedulerError::NoPackage { .. }), "{err}");
        assert!(err.to_string().contains("`scx_nope`"), "{err}");
    }
}
