//! Kernel sources and the cache id derived from them.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use crate::{Flavor, KernelError};

/// Debian's `linux-source-6.12` package installs its tarball here.
pub const DEFAULT_TARBALL: &str = "/usr/src/linux-source-6.12.tar.xz";

/// Bumped whenever the build recipe changes in a way that changes its output
/// (commands, flags, collected files), so old cache entries stop matching.
const RECIPE: &str = "ktstr-kernel-build v1";

/// Where the kernel source comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelSource {
    /// A kernel source tarball (Debian's `linux-source-*` by default),
    /// extracted into the cache's build directory.
    DebianTarball(PathBuf),
    /// A kernel source tree, built out of tree (`make O=`) so it stays clean.
    Tree(PathBuf),
}

impl Default for KernelSource {
    fn default() -> Self {
        KernelSource::DebianTarball(PathBuf::from(DEFAULT_TARBALL))
    }
}

impl KernelSource {
    /// The tarball or tree path.
    pub fn path(&self) -> &Path {
        match self {
            KernelSource::DebianTarball(p) | KernelSource::Tree(p) => p,
        }
    }

    /// A one-line identity of the source's content, hashed into the cache id
    /// and recorded in `meta.json`.
    ///
    /// A tarball is identified by file name, size and mtime (hashing 150 MB
    /// on every lookup would cost a second; a Debian update changes both).
    /// A tree by its canonical path, `make kernelversion` and its git HEAD:
    /// uncommitted edits do not change the id, so rebuild those with `force`
    /// (the build directory is kept, so that rebuild is incremental).
    ///
    /// # Errors
    ///
    /// [`KernelError::SourceNotFound`] if the path does not exist, or the
    /// error of running `make kernelversion` in a tree.
    pub fn identity(&self) -> Result<String, KernelError> {
        let path = self.path();
        if !path.exists() {
            return Err(KernelError::SourceNotFound {
                path: path.to_owned(),
            });
        }
        match self {
            KernelSource::DebianTarball(p) => {
                let meta = fs::metadata(p).map_err(KernelError::io("inspect kernel tarball", p))?;
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                Ok(format!(
                    "debian-tarball {name} size={} mtime={mtime}",
                    meta.len()
                ))
            }
            KernelSource::Tree(p) => {
                let canonical = p
                    .canonicalize()
                    .map_err(KernelError::io("resolve kernel tree", p))?;
                if !canonical.join("Makefile").is_file() {
                    return Err(KernelError::NotAKernelTree { path: canonical });
                }
                let version = crate::build::make_kernelversion(&canonical)?;
                let git = git_head_digest(&canonical).unwrap_or_else(|| "none".to_owned());
                Ok(format!(
                    "tree {} version={version} git={git}",
                    canonical.display()
                ))
            }
        }
    }
}

/// The cache id for a source identity and a fragment: the first 12 hex
/// digits of a SHA-256 over the recipe version, the identity and the fragment.
pub(crate) fn cache_id_for(identity: &str, fragment: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("{RECIPE}\nsource: {identity}\nfragment:\n").as_bytes());
    hasher.update(fragment.as_bytes());
    hex::encode(hasher.finalize())[..12].to_owned()
}

/// The cache id a build of `source` with the project's fragment gets.
///
/// # Errors
///
/// As [`KernelSource::identity`].
pub fn cache_id(source: &KernelSource) -> Result<String, KernelError> {
    flavor_cache_id(source, Flavor::Default)
}

/// The cache id a build of `source` in `flavor` gets.
///
/// # Errors
///
/// As [`KernelSource::identity`].
pub fn flavor_cache_id(source: &KernelSource, flavor: Flavor) -> Result<String, KernelError> {
    let recipe = crate::patches::recipe_text(&flavor.fragment(), crate::patches_for(source));
    Ok(cache_id_for(&source.identity()?, &recipe))
}

/// SHA-256 of a fragment text, recorded in `meta.json`.
pub(crate) fn fragment_sha256(fragment: &str) -> String {
    hex::encode(Sha256::digest(fragment.as_bytes()))
}

/// A digest of a tree's git HEAD: the HEAD file plus the ref it names, so a
/// new commit on the checked-out branch changes it. `None` without git.
fn git_head_digest(tree: &Path) -> Option<String> {
    let git = tree.join(".git");
    // A worktree or submodule has a `.git` file pointing at the real dir.
    let git_dir = if git.is_file() {
        let text = fs::read_to_string(&git).ok()?;
        let target = text.trim().strip_prefix("gitdir:")?.trim();
        tree.join(target)
    } else {
        git
    };
    let head = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let mut hasher = Sha256::new();
    hasher.update(head.as_bytes());
    if let Some(reference) = head.trim().strip_prefix("ref:").map(str::trim) {
        let commit = fs::read_to_string(git_dir.join(reference))
            .or_else(|_| packed_ref(&git_dir, reference).ok_or(()))
            .unwrap_or_default();
        hasher.update(commit.trim().as_bytes());
    }
    Some(hex::encode(hasher.finalize())[..16].to_owned())
}

fn packed_ref(git_dir: &Path, reference: &str) -> Option<String> {
    let packed = fs::read_to_string(git_dir.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (commit, name) = line.split_once(' ')?;
        (name == reference).then(|| commit.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn fake_tarball(dir: &Path, bytes: usize, mtime: u64) -> PathBuf {
        let path = dir.join("linux-source-6.12.tar.xz");
        fs::write(&path, vec![0u8; bytes]).unwrap();
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(mtime))
            .unwrap();
        path
    }

    #[test]
    fn cache_id_is_stable() {
        // Pinned: a change here silently invalidates every user's cache, so
        // it must be deliberate (bump RECIPE instead of editing the hash).
        assert_eq!(
            cache_id_for("debian-tarball x size=1 mtime=2", "CONFIG_A=y\n"),
            {
                let mut h = Sha256::new();
                h.update(b"ktstr-kernel-build v1\nsource: debian-tarball x size=1 mtime=2\nfragment:\nCONFIG_A=y\n");
                hex::encode(h.finalize())[..12].to_owned()
            }
        );
        assert_eq!(cache_id_for("a", "b"), cache_id_for("a", "b"));
        assert_ne!(cache_id_for("a", "b"), cache_id_for("a", "c"));
        assert_ne!(cache_id_for("a", "b"), cache_id_for("x", "b"));
        assert_eq!(cache_id_for("a", "b").len(), 12);
    }

    #[test]
    fn tarball_identity_follows_size_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = fake_tarball(dir.path(), 10, 1_700_000_000);
        let source = KernelSource::DebianTarball(path.clone());
        let identity = source.identity().unwrap();
        assert_eq!(
            identity,
            "debian-tarball linux-source-6.12.tar.xz size=10 mtime=1700000000"
        );
        let first = cache_id(&source).unwrap();
        assert_eq!(first, cache_id(&source).unwrap());
        fake_tarball(dir.path(), 11, 1_700_000_000);
        assert_ne!(first, cache_id(&source).unwrap());
    }

    #[test]
    fn missing_source_is_named() {
        let source = KernelSource::DebianTarball("/nonexistent/linux.tar.xz".into());
        let err = source.identity().unwrap_err();
        assert!(matches!(err, KernelError::SourceNotFound { .. }));
        assert!(err.to_string().contains("`/nonexistent/linux.tar.xz`"));
        assert!(err.to_string().contains("hint:"));
    }

    #[test]
    fn git_head_digest_follows_the_branch() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        fs::create_dir_all(git.join("refs/heads")).unwrap();
        fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(git.join("packed-refs"), "1111 refs/heads/main\n").unwrap();
        let packed = git_head_digest(dir.path()).unwrap();
        fs::write(git.join("refs/heads/main"), "2222\n").unwrap();
        let loose = git_head_digest(dir.path()).unwrap();
        assert_ne!(packed, loose);
        assert_eq!(git_head_digest(&dir.path().join("nope")), None);
    }
}
