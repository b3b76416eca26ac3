//! The cache of built schedulers, beside the kernel cache.
//!
//! ```text
//! <root>/schedulers/<name>-<version>/        bin/<name>  meta.json     (crates.io)
//! <root>/schedulers/<name>-path-<hash>/      bin/<name>  meta.json     (a local tree)
//! <root>/schedulers/target/                  one cargo target dir shared by every build
//! <root>/schedulers/shim/                    clang -> clang-19, ... for the scx build scripts
//! ```
//!
//! Entries appear whole or not at all: they are assembled in a temporary
//! sibling directory and renamed into place.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{SchedulerError, SchedulerSpec};

/// Name of an entry's metadata file.
pub(crate) const META_FILE: &str = "meta.json";

/// Where a built scheduler came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BuiltFrom {
    /// crates.io, with `cargo install --locked`.
    CratesIo,
    /// A local Cargo project.
    Path {
        /// The directory that was built (canonical).
        dir: PathBuf,
        /// Its git commit (`git rev-parse HEAD`), if it is a git tree.
        git_commit: Option<String>,
        /// Whether the tree had uncommitted changes when it was built.
        git_dirty: bool,
    },
}

/// What `meta.json` records about a built scheduler; the JSON of
/// `ktstr scheduler list --json` is a list of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuiltScheduler {
    /// The scheduler (binary) name, e.g. `scx_bpfland`.
    pub name: String,
    /// The package version that was built.
    pub version: String,
    /// Where it came from.
    pub source: BuiltFrom,
    /// SHA-256 of the binary, hex.
    pub sha256: String,
    /// Wall time of the build in seconds.
    pub build_seconds: f64,
    /// When the entry was created, seconds since the Unix epoch.
    pub created_unix: u64,
    /// The binary, absolute (filled in when the entry is read).
    #[serde(default)]
    pub binary: PathBuf,
}

impl BuiltScheduler {
    /// `name@version`, or `name@path` for a local tree.
    pub fn label(&self) -> String {
        match self.source {
            BuiltFrom::CratesIo => format!("{}@{}", self.name, self.version),
            BuiltFrom::Path { .. } => format!("{}@{} (local)", self.name, self.version),
        }
    }

    /// Checks that the binary still has the recorded checksum.
    ///
    /// # Errors
    ///
    /// [`SchedulerError::Corrupt`] on a mismatch, an I/O error if the
    /// binary cannot be read.
    pub fn verify(&self) -> Result<(), SchedulerError> {
        let got = sha256_file(&self.binary)?;
        if got == self.sha256 {
            Ok(())
        } else {
            Err(SchedulerError::Corrupt {
                name: self.name.clone(),
                path: self.binary.clone(),
                expected: self.sha256.clone(),
                got,
            })
        }
    }
}

/// The built schedulers under one cache root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerCache {
    dir: PathBuf,
}

impl SchedulerCache {
    /// The cache under `root` (the ktstr cache root): `<root>/schedulers`.
    pub fn new(root: &Path) -> SchedulerCache {
        SchedulerCache {
            dir: root.join("schedulers"),
        }
    }

    /// The cache at ktstr's default location (`$KTSTR_CACHE_DIR`,
    /// `$XDG_CACHE_HOME/ktstr` or `~/.cache/ktstr`).
    ///
    /// # Errors
    ///
    /// [`SchedulerError::Cache`] when no location can be derived.
    pub fn default_location() -> Result<SchedulerCache, SchedulerError> {
        let kernels = ktstr_kernel::KernelCache::default_location()?;
        Ok(SchedulerCache::new(kernels.root()))
    }

    /// `<root>/schedulers`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cargo target directory every build shares.
    pub fn target_dir(&self) -> PathBuf {
        self.dir.join("target")
    }

    /// Every built scheduler, newest first.
    ///
    /// # Errors
    ///
    /// An I/O error reading the cache, [`SchedulerError::BadMeta`] for a
    /// corrupt entry.
    pub fn list(&self) -> Result<Vec<BuiltScheduler>, SchedulerError> {
        let mut out = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(SchedulerError::io("read", &self.dir)(e)),
        };
        for entry in entries {
            let path = entry.map_err(SchedulerError::io("read", &self.dir))?.path();
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !hidden && path.join(META_FILE).is_file() {
                out.push(load(&path)?);
            }
        }
        out.sort_by(|a, b| {
            (b.created_unix, &b.name, &b.version).cmp(&(a.created_unix, &a.name, &a.version))
        });
        Ok(out)
    }

    /// The newest built scheduler matching `spec` (name, and version if
    /// given), with its checksum verified.
    ///
    /// # Errors
    ///
    /// [`SchedulerError::NotBuilt`] listing what is built,
    /// [`SchedulerError::Corrupt`] when the binary changed since its build.
    pub fn find(&self, spec: &SchedulerSpec) -> Result<BuiltScheduler, SchedulerError> {
        let all = self.list()?;
        let found = all
            .iter()
            .find(|s| s.name == spec.name && spec.version.as_ref().is_none_or(|v| v == &s.version));
        match found {
            Some(s) => {
                s.verify()?;
                Ok(s.clone())
            }
            None => Err(SchedulerError::NotBuilt {
                spec: spec.to_string(),
                available: all.iter().map(BuiltScheduler::label).collect(),
            }),
        }
    }

    /// Installs `binary` with `meta` as entry `entry` (replacing an older
    /// entry of that name whole).
    pub(crate) fn install(
        &self,
        entry: &str,
        binary: &Path,
        mut meta: BuiltScheduler,
    ) -> Result<BuiltScheduler, SchedulerError> {
        fs::create_dir_all(&self.dir).map_err(SchedulerError::io("create", &self.dir))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".tmp-{entry}-"))
            .tempdir_in(&self.dir)
            .map_err(SchedulerError::io(
                "create a temporary directory in",
                &self.dir,
            ))?;
        let bin_dir = tmp.path().join("bin");
        fs::create_dir(&bin_dir).map_err(SchedulerError::io("create", &bin_dir))?;
        let dest_bin = bin_dir.join(&meta.name);
        fs::copy(binary, &dest_bin).map_err(SchedulerError::io("copy", binary))?;
        meta.sha256 = sha256_file(&dest_bin)?;
        meta.binary = PathBuf::new();
        let meta_path = tmp.path().join(META_FILE);
        let json = serde_json::to_string_pretty(&meta).expect("BuiltScheduler serializes");
        fs::write(&meta_path, json + "\n").map_err(SchedulerError::io("write", &meta_path))?;
        let dest = self.dir.join(entry);
        ktstr_kernel::replace_entry(tmp.path(), &dest)?;
        load(&dest)
    }
}

fn load(dir: &Path) -> Result<BuiltScheduler, SchedulerError> {
    let path = dir.join(META_FILE);
    let text = fs::read_to_string(&path).map_err(SchedulerError::io("read", &path))?;
    let mut meta: BuiltScheduler =
        serde_json::from_str(&text).map_err(|e| SchedulerError::BadMeta {
            dir: dir.to_owned(),
            message: e.to_string(),
        })?;
    meta.binary = dir.join("bin").join(&meta.name);
    Ok(meta)
}

/// SHA-256 of a file, hex.
pub(crate) fn sha256_file(path: &Path) -> Result<String, SchedulerError> {
    let mut file = fs::File::open(path).map_err(SchedulerError::io("open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(SchedulerError::io("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, version: &str, created: u64) -> BuiltScheduler {
        BuiltScheduler {
            name: name.into(),
            version: version.into(),
            source: BuiltFrom::CratesIo,
            sha256: String::new(),
            build_seconds: 1.0,
            created_unix: created,
            binary: PathBuf::new(),
        }
    }

    #[test]
    fn install_list_find_and_detect_corruption() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = SchedulerCache::new(tmp.path());
        assert!(cache.list().unwrap().is_empty());
        let bin = tmp.path().join("built");
        fs::write(&bin, b"binary v1").unwrap();
        cache
            .install("scx_a-1.0.0", &bin, meta("scx_a", "1.0.0", 1))
            .unwrap();
        fs::write(&bin, b"binary v2").unwrap();
        let newer = cache
            .install("scx_a-1.1.0", &bin, meta("scx_a", "1.1.0", 2))
            .unwrap();
        assert_eq!(newer.sha256, hex::encode(Sha256::digest(b"binary v2")));

        let any: SchedulerSpec = "scx_a".parse().unwrap();
        assert_eq!(cache.find(&any).unwrap().version, "1.1.0");
        let old: SchedulerSpec = "a@1.0.0".parse().unwrap();
        let found = cache.find(&old).unwrap();
        assert_eq!(fs::read(&found.binary).unwrap(), b"binary v1");

        let err = cache
            .find(&"scx_b".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("scx_a@1.1.0"), "{err}");
        assert!(err.contains("ktstr scheduler build scx_b"), "{err}");

        fs::write(&found.binary, b"truncat").unwrap();
        let err = cache.find(&old).unwrap_err();
        assert!(matches!(err, SchedulerError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("--force"), "{err}");
    }

    #[test]
    fn reinstall_replaces_the_entry_and_leaves_no_temporaries() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = SchedulerCache::new(tmp.path());
        let bin = tmp.path().join("built");
        fs::write(&bin, b"x").unwrap();
        cache
            .install("scx_a-1.0.0", &bin, meta("scx_a", "1.0.0", 1))
            .unwrap();
        cache
            .install("scx_a-1.0.0", &bin, meta("scx_a", "1.0.0", 5))
            .unwrap();
        let names: Vec<_> = fs::read_dir(cache.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["scx_a-1.0.0"]);
        assert_eq!(cache.list().unwrap()[0].created_unix, 5);
    }

    #[test]
    fn corrupt_meta_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = SchedulerCache::new(tmp.path());
        let entry = cache.dir().join("scx_a-1.0.0");
        fs::create_dir_all(&entry).unwrap();
        fs::write(entry.join(META_FILE), "{").unwrap();
        let err = cache.list().unwrap_err();
        assert!(matches!(err, SchedulerError::BadMeta { .. }), "{err}");
    }
}
