//! The on-disk kernel cache.
//!
//! ```text
//! <root>/kernels/<id>/   bzImage vmlinux config System.map meta.json schedulers/scx_*
//! <root>/build/<id>/     src/ (extracted tarball)  out/ (make O=)  scx/ (tools/sched_ext O=)
//! ```
//!
//! Entries under `kernels/` appear whole or not at all: they are assembled
//! in a temporary sibling directory and renamed into place. Build
//! directories are kept after a successful build so a forced rebuild is
//! incremental (seconds instead of minutes); [`KernelCache::clean`] removes
//! them. A build dir of the default kernel takes about 2.7 GB (1.7 GB
//! extracted source, 1 GB objects); an entry about 130 MB, most of it the
//! debug-info vmlinux.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::KernelError;

/// What `meta.json` records about a cached kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KernelMeta {
    /// The cache id (12 hex digits).
    pub id: String,
    /// The kernel release, e.g. `6.12.117`.
    pub version: String,
    /// Where the source came from (see [`crate::KernelSource::identity`]).
    pub source: String,
    /// SHA-256 of the kconfig fragment the kernel was configured with.
    pub fragment_sha256: String,
    /// The configuration flavour (entries written before flavours existed
    /// are `default`).
    #[serde(default)]
    pub flavor: crate::Flavor,
    /// Wall time of the whole build (extract, configure, kernel, schedulers).
    pub build_seconds: f64,
    /// Wall time of `make bzImage`.
    pub kernel_build_seconds: f64,
    /// Wall time of `make -C tools/sched_ext`.
    pub scheduler_build_seconds: f64,
    /// When the entry was created, in seconds since the Unix epoch.
    pub created_unix: u64,
    /// Size of `bzImage` in bytes.
    pub bzimage_bytes: u64,
    /// SHA-256 of `bzImage` (entries built before it was recorded have none:
    /// only their size is checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bzimage_sha256: Option<String>,
    /// The scheduler binaries in the entry's `schedulers/` directory.
    pub schedulers: Vec<String>,
    /// SHA-256 of the scheduler list and the fault scheduler's sources they
    /// were built from; a different value makes the next build rebuild them.
    #[serde(default)]
    pub schedulers_sha256: String,
    /// The project's patches applied to the source (file names, in order);
    /// empty for a tree the user brought.
    #[serde(default)]
    pub patches: Vec<String>,
}

/// SHA-256 of a file, as hex.
pub(crate) fn file_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// A kernel in the cache.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CachedKernel {
    /// The cache id.
    pub id: String,
    /// The entry's directory, `<root>/kernels/<id>`.
    pub dir: PathBuf,
    /// The entry's `meta.json`.
    pub meta: KernelMeta,
}

impl CachedKernel {
    /// Reads the entry in `dir`.
    pub(crate) fn load(dir: &Path) -> Result<CachedKernel, KernelError> {
        let path = dir.join(META_FILE);
        let text =
            fs::read_to_string(&path).map_err(KernelError::io("read kernel metadata", &path))?;
        let meta: KernelMeta =
            serde_json::from_str(&text).map_err(|source| KernelError::BadMeta { path, source })?;
        Ok(CachedKernel {
            id: meta.id.clone(),
            dir: dir.to_owned(),
            meta,
        })
    }

    /// Checks the entry's `bzImage` against its metadata: the size always,
    /// the SHA-256 where it was recorded. A truncated or corrupted image is
    /// refused with the fix, never booted.
    ///
    /// # Errors
    ///
    /// [`KernelError::CorruptEntry`].
    pub fn verify(&self) -> Result<(), KernelError> {
        let image = self.bzimage();
        let corrupt = |what: String| KernelError::CorruptEntry {
            id: self.id.clone(),
            what,
        };
        let len = fs::metadata(&image)
            .map_err(|e| corrupt(format!("`{}` cannot be read: {e}", image.display())))?
            .len();
        if len != self.meta.bzimage_bytes {
            return Err(corrupt(format!(
                "`{}` is {len} bytes, its metadata says {}",
                image.display(),
                self.meta.bzimage_bytes
            )));
        }
        if let Some(want) = &self.meta.bzimage_sha256 {
            let got = file_sha256(&image)
                .map_err(|e| corrupt(format!("`{}` cannot be read: {e}", image.display())))?;
            if &got != want {
                return Err(corrupt(format!(
                    "`{}` has SHA-256 {got}, its metadata says {want}",
                    image.display()
                )));
            }
        }
        Ok(())
    }

    /// The compressed kernel image to boot.
    pub fn bzimage(&self) -> PathBuf {
        self.dir.join(BZIMAGE)
    }

    /// The uncompressed kernel with debug info and BTF (for symbols, BTF, PVH boot).
    pub fn vmlinux(&self) -> PathBuf {
        self.dir.join(VMLINUX)
    }

    /// The kernel's final `.config`.
    pub fn config(&self) -> PathBuf {
        self.dir.join(CONFIG)
    }

    /// The kernel's `System.map`.
    pub fn system_map(&self) -> PathBuf {
        self.dir.join(SYSTEM_MAP)
    }

    /// The path of scheduler `name` (e.g. `scx_simple`) if this entry has it.
    pub fn scheduler(&self, name: &str) -> Option<PathBuf> {
        self.meta
            .schedulers
            .iter()
            .any(|s| s == name)
            .then(|| self.dir.join(SCHEDULERS_DIR).join(name))
    }

    /// Every scheduler in this entry, as (name, path).
    pub fn schedulers(&self) -> Vec<(String, PathBuf)> {
        self.meta
            .schedulers
            .iter()
            .map(|name| (name.clone(), self.dir.join(SCHEDULERS_DIR).join(name)))
            .collect()
    }
}

pub(crate) const BZIMAGE: &str = "bzImage";
pub(crate) const VMLINUX: &str = "vmlinux";
pub(crate) const CONFIG: &str = "config";
pub(crate) const SYSTEM_MAP: &str = "System.map";
pub(crate) const META_FILE: &str = "meta.json";
pub(crate) const SCHEDULERS_DIR: &str = "schedulers";

/// A kernel cache rooted at a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelCache {
    root: PathBuf,
}

impl KernelCache {
    /// A cache rooted at `root` (created on first build).
    pub fn new(root: PathBuf) -> KernelCache {
        KernelCache { root }
    }

    /// The cache at `$KTSTR_CACHE_DIR`, else `$XDG_CACHE_HOME/ktstr`,
    /// else `~/.cache/ktstr`.
    ///
    /// # Errors
    ///
    /// [`KernelError::NoCacheDir`] if none of those variables is set.
    pub fn default_location() -> Result<KernelCache, KernelError> {
        let root = root_from_env(|name| std::env::var_os(name).map(PathBuf::from))
            .ok_or(KernelError::NoCacheDir)?;
        Ok(KernelCache::new(root))
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn kernels_dir(&self) -> PathBuf {
        self.root.join("kernels")
    }

    pub(crate) fn build_root(&self) -> PathBuf {
        self.root.join("build")
    }

    /// Every complete cache entry, newest first.
    ///
    /// Half-written entries (dot-prefixed temporary directories) are skipped.
    ///
    /// # Errors
    ///
    /// An I/O error reading the cache, or [`KernelError::BadMeta`] for an
    /// entry whose `meta.json` is corrupt.
    pub fn list(&self) -> Result<Vec<CachedKernel>, KernelError> {
        let mut kernels = Vec::new();
        for dir in entry_dirs(&self.kernels_dir())? {
            kernels.push(CachedKernel::load(&dir)?);
        }
        kernels.sort_by(|a, b| (b.meta.created_unix, &b.id).cmp(&(a.meta.created_unix, &a.id)));
        Ok(kernels)
    }

    /// The entry whose id starts with `id_prefix`.
    ///
    /// # Errors
    ///
    /// [`KernelError::UnknownKernel`] if none matches,
    /// [`KernelError::AmbiguousKernel`] if several do.
    pub fn get(&self, id_prefix: &str) -> Result<CachedKernel, KernelError> {
        let matches: Vec<CachedKernel> = self
            .list()?
            .into_iter()
            .filter(|k| !id_prefix.is_empty() && k.id.starts_with(id_prefix))
            .collect();
        match matches.len() {
            0 => Err(KernelError::UnknownKernel {
                spec: id_prefix.to_owned(),
            }),
            1 => Ok(matches.into_iter().next().expect("one match")),
            _ => Err(KernelError::AmbiguousKernel {
                spec: id_prefix.to_owned(),
                matches: matches.into_iter().map(|k| k.id).collect(),
            }),
        }
    }

    /// The exact entry `id`, if cached.
    pub(crate) fn lookup(&self, id: &str) -> Result<Option<CachedKernel>, KernelError> {
        let dir = self.kernels_dir().join(id);
        if dir.join(META_FILE).is_file() {
            CachedKernel::load(&dir).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The most recently built entry of the default flavour, or, when the
    /// cache holds only other flavours, the most recent of those.
    ///
    /// # Errors
    ///
    /// [`KernelError::NoKernel`] if the cache is empty.
    pub fn latest(&self) -> Result<CachedKernel, KernelError> {
        let kernels = self.list()?;
        let default = kernels
            .iter()
            .position(|k| k.meta.flavor == crate::Flavor::Default)
            .unwrap_or(0);
        kernels
            .into_iter()
            .nth(default)
            .ok_or_else(|| KernelError::NoKernel {
                cache: self.root.clone(),
            })
    }

    /// The most recently built entry of `flavor`.
    ///
    /// # Errors
    ///
    /// [`KernelError::NoKernel`] if no entry of that flavour is cached.
    pub fn latest_of(&self, flavor: crate::Flavor) -> Result<CachedKernel, KernelError> {
        self.list()?
            .into_iter()
            .find(|k| k.meta.flavor == flavor)
            .ok_or_else(|| KernelError::NoKernel {
                cache: self.root.clone(),
            })
    }

    /// Removes the entry and build directory of the kernel whose id starts
    /// with `id` (`Some`), or every entry and build directory (`None`).
    /// Returns the directories removed.
    ///
    /// # Errors
    ///
    /// [`KernelError::UnknownKernel`] / [`KernelError::AmbiguousKernel`] if
    /// `id` does not name exactly one entry or build directory, or an I/O error.
    pub fn clean(&self, id: Option<&str>) -> Result<Vec<PathBuf>, KernelError> {
        let mut removed = Vec::new();
        match id {
            None => {
                for dir in [self.kernels_dir(), self.build_root()] {
                    if dir.exists() {
                        remove_dir(&dir)?;
                        removed.push(dir);
                    }
                }
            }
            Some(prefix) => {
                // A build directory may exist without an entry (a failed
                // build), so match ids across both places.
                let mut ids: Vec<String> = [self.kernels_dir(), self.build_root()]
                    .iter()
                    .map(|d| entry_dirs(d))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .filter(|name| !prefix.is_empty() && name.starts_with(prefix))
                    .collect();
                ids.sort();
                ids.dedup();
                let id = match ids.as_slice() {
                    [] => {
                        return Err(KernelError::UnknownKernel {
                            spec: prefix.to_owned(),
                        })
                    }
                    [one] => one.clone(),
                    _ => {
                        return Err(KernelError::AmbiguousKernel {
                            spec: prefix.to_owned(),
                            matches: ids,
                        })
                    }
                };
                for dir in [self.kernels_dir().join(&id), self.build_root().join(&id)] {
                    if dir.exists() {
                        remove_dir(&dir)?;
                        removed.push(dir);
                    }
                }
                // The build lock file, if any; harmless if absent.
                let _ = fs::remove_file(self.build_root().join(format!("{id}.lock")));
            }
        }
        Ok(removed)
    }
}

/// The cache root the environment (read through `var`) designates; empty
/// values count as unset, as the XDG base directory spec says.
fn root_from_env(var: impl Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
    let var = |name| var(name).filter(|v| !v.as_os_str().is_empty());
    var("KTSTR_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|p| p.join("ktstr")))
        .or_else(|| var("HOME").map(|p| p.join(".cache/ktstr")))
}

/// The non-hidden subdirectories of `dir` (none if `dir` does not exist).
fn entry_dirs(dir: &Path) -> Result<Vec<PathBuf>, KernelError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(KernelError::io("read kernel cache", dir)(e)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(KernelError::io("read kernel cache", dir))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.path().is_dir() {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn remove_dir(dir: &Path) -> Result<(), KernelError> {
    fs::remove_dir_all(dir).map_err(KernelError::io("remove", dir))
}

/// Moves the directory `tmp` into place as `dest`, replacing an older
/// `dest` whole: readers see the old entry or the new one, never a mix.
/// Shared by every cache of ktstr (kernels, schedulers).
///
/// # Errors
///
/// [`KernelError::Io`] when a rename or the removal of the old entry fails.
pub fn replace_entry(tmp: &Path, dest: &Path) -> Result<(), KernelError> {
    if dest.exists() {
        // rename cannot replace a non-empty directory: move the old one aside first.
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        let old = dest.with_file_name(format!(".old-{name}-{}", std::process::id()));
        fs::rename(dest, &old).map_err(KernelError::io("move aside", dest))?;
        fs::rename(tmp, dest).map_err(KernelError::io("install", dest))?;
        fs::remove_dir_all(&old).map_err(KernelError::io("remove", &old))
    } else {
        fs::rename(tmp, dest).map_err(KernelError::io("install", dest))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a fake cache entry with a meta.json and placeholder files.
    pub(crate) fn fake_entry(cache: &KernelCache, id: &str, created: u64) -> CachedKernel {
        let dir = cache.kernels_dir().join(id);
        fs::create_dir_all(dir.join(SCHEDULERS_DIR)).unwrap();
        let meta = KernelMeta {
            id: id.to_owned(),
            version: "6.12.0".to_owned(),
            source: "test".to_owned(),
            fragment_sha256: "00".repeat(32),
            flavor: crate::Flavor::Default,
            build_seconds: 1.0,
            kernel_build_seconds: 0.5,
            scheduler_build_seconds: 0.25,
            created_unix: created,
            bzimage_bytes: 4,
            bzimage_sha256: None,
            schedulers: vec!["scx_simple".to_owned()],
            schedulers_sha256: crate::build::schedulers_sha256(),
            patches: Vec::new(),
        };
        fs::write(dir.join(META_FILE), serde_json::to_string(&meta).unwrap()).unwrap();
        fs::write(dir.join(BZIMAGE), b"fake").unwrap();
        fs::write(dir.join(CONFIG), "CONFIG_SCHED_CLASS_EXT=y\n").unwrap();
        fs::write(dir.join(SCHEDULERS_DIR).join("scx_simple"), b"").unwrap();
        CachedKernel {
            id: id.to_owned(),
            dir,
            meta,
        }
    }

    #[test]
    fn a_damaged_image_is_refused_with_the_fix() {
        let root = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(root.path().to_path_buf());
        let mut k = fake_entry(&cache, "0123456789ab", 1);
        k.verify().unwrap();
        // Truncated: the size check catches it even without a recorded hash.
        fs::write(k.bzimage(), b"fa").unwrap();
        let e = cache.resolve(None).unwrap_err().to_string();
        assert!(
            e.contains("cached kernel 0123456789ab is damaged")
                && e.contains("is 2 bytes, its metadata says 4"),
            "{e}"
        );
        assert!(e.contains("ktstr kernel build --force"), "{e}");
        // Same size, other bytes: the hash catches it.
        fs::write(k.bzimage(), b"fake").unwrap();
        k.meta.bzimage_sha256 = Some(file_sha256(&k.bzimage()).unwrap());
        k.verify().unwrap();
        fs::write(k.bzimage(), b"FAKE").unwrap();
        let e = k.verify().unwrap_err().to_string();
        assert!(e.contains("has SHA-256"), "{e}");
    }

    #[test]
    fn default_root_precedence() {
        fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<PathBuf> + 'a {
            move |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| PathBuf::from(v))
            }
        }
        let all = [
            ("KTSTR_CACHE_DIR", "/k"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(root_from_env(env(&all)), Some(PathBuf::from("/k")));
        assert_eq!(
            root_from_env(env(&all[1..])),
            Some(PathBuf::from("/x/ktstr"))
        );
        assert_eq!(
            root_from_env(env(&all[2..])),
            Some(PathBuf::from("/h/.cache/ktstr"))
        );
        assert_eq!(
            root_from_env(env(&[("XDG_CACHE_HOME", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/ktstr"))
        );
        assert_eq!(root_from_env(env(&[])), None);
    }

    #[test]
    fn list_is_newest_first_and_skips_partial_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().to_owned());
        assert!(cache.list().unwrap().is_empty());
        fake_entry(&cache, "aaaa00000000", 100);
        fake_entry(&cache, "bbbb00000000", 300);
        fake_entry(&cache, "cccc00000000", 200);
        fs::create_dir_all(cache.kernels_dir().join(".tmp-dddd")).unwrap();
        let ids: Vec<String> = cache.list().unwrap().into_iter().map(|k| k.id).collect();
        assert_eq!(ids, ["bbbb00000000", "cccc00000000", "aaaa00000000"]);
        assert_eq!(cache.latest().unwrap().id, "bbbb00000000");
    }

    #[test]
    fn get_by_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().to_owned());
        let made = fake_entry(&cache, "ab1200000000", 1);
        fake_entry(&cache, "ab3400000000", 2);
        assert_eq!(cache.get("ab12").unwrap(), made);
        assert_eq!(
            cache.get("ab12").unwrap().scheduler("scx_simple"),
            Some(made.dir.join("schedulers/scx_simple"))
        );
        assert_eq!(made.scheduler("scx_nope"), None);
        assert!(
            matches!(cache.get("ab"), Err(KernelError::AmbiguousKernel { matches, .. }) if matches.len() == 2)
        );
        assert!(matches!(
            cache.get("ff"),
            Err(KernelError::UnknownKernel { .. })
        ));
        assert!(matches!(
            cache.get(""),
            Err(KernelError::UnknownKernel { .. })
        ));
    }

    #[test]
    fn corrupt_meta_is_reported_with_its_path() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().to_owned());
        let entry = fake_entry(&cache, "aaaa00000000", 1);
        fs::write(entry.dir.join(META_FILE), "{").unwrap();
        let err = cache.list().unwrap_err();
        assert!(matches!(err, KernelError::BadMeta { .. }));
        assert!(err.to_string().contains("aaaa00000000/meta.json"), "{err}");
    }

    #[test]
    fn clean_one_removes_entry_and_build_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().to_owned());
        fake_entry(&cache, "aaaa00000000", 1);
        fake_entry(&cache, "bbbb00000000", 2);
        fs::create_dir_all(cache.build_root().join("aaaa00000000/out")).unwrap();
        // A failed build leaves only a build directory; it is cleanable too.
        fs::create_dir_all(cache.build_root().join("cccc00000000/out")).unwrap();

        let removed = cache.clean(Some("aaaa")).unwrap();
        assert_eq!(removed.len(), 2);
        assert!(!cache.kernels_dir().join("aaaa00000000").exists());
        assert!(!cache.build_root().join("aaaa00000000").exists());
        assert_eq!(cache.clean(Some("cccc")).unwrap().len(), 1);
        assert!(matches!(
            cache.clean(Some("aaaa")),
            Err(KernelError::UnknownKernel { .. })
        ));
        assert_eq!(cache.latest().unwrap().id, "bbbb00000000");
    }

    #[test]
    fn clean_all_empties_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().to_owned());
        fake_entry(&cache, "aaaa00000000", 1);
        fs::create_dir_all(cache.build_root().join("aaaa00000000")).unwrap();
        assert_eq!(cache.clean(None).unwrap().len(), 2);
        assert!(cache.list().unwrap().is_empty());
        assert!(cache.clean(None).unwrap().is_empty());
        let err = cache.latest().unwrap_err();
        assert!(err.to_string().contains("ktstr kernel build"), "{err}");
    }
}
