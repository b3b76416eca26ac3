//! Turning a user's `--kernel` value (or nothing) into a bootable kernel.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{config, CachedKernel, KernelCache, KernelError};

/// A kernel ready to boot: a cache entry, or an image the user pointed at.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResolvedKernel {
    /// An entry of the cache, with its schedulers.
    Cached(Box<CachedKernel>),
    /// A kernel image outside the cache.
    Image {
        /// The bzImage (or ELF vmlinux) to boot.
        bzimage: PathBuf,
        /// The `.config` found next to it, already checked for sched_ext.
        config: Option<PathBuf>,
    },
}

impl ResolvedKernel {
    /// The image to boot.
    pub fn bzimage(&self) -> PathBuf {
        match self {
            ResolvedKernel::Cached(k) => k.bzimage(),
            ResolvedKernel::Image { bzimage, .. } => bzimage.clone(),
        }
    }

    /// The kernel's `.config`, if known.
    pub fn config(&self) -> Option<PathBuf> {
        match self {
            ResolvedKernel::Cached(k) => Some(k.config()),
            ResolvedKernel::Image { config, .. } => config.clone(),
        }
    }

    /// The cache entry, if the kernel came from the cache.
    pub fn cached(&self) -> Option<&CachedKernel> {
        match self {
            ResolvedKernel::Cached(k) => Some(k),
            ResolvedKernel::Image { .. } => None,
        }
    }

    /// Scheduler `name` built with this kernel; only cached kernels have them.
    pub fn scheduler(&self, name: &str) -> Option<PathBuf> {
        self.cached().and_then(|k| k.scheduler(name))
    }
}

impl KernelCache {
    /// Resolves a kernel spec: `None` is the newest cached kernel of the
    /// default flavour; a flavour name (`default`, `debug`) the newest of
    /// that flavour; a value
    /// that names an existing path (or contains `/`) is a kernel image or a
    /// directory holding one (a build tree or a cache entry); anything else
    /// is a cache id prefix.
    ///
    /// For an image, a `.config` (or `config`) beside it, or at the root of
    /// the build tree it came from, is checked for sched_ext.
    ///
    /// # Errors
    ///
    /// [`KernelError::NoKernel`] if `spec` is `None` and the cache is empty;
    /// [`KernelError::ImageMissing`] / [`KernelError::NotAKernelImage`] for a
    /// bad path; [`KernelError::NoSchedExt`] if the config beside the image
    /// lacks `CONFIG_SCHED_CLASS_EXT=y`; [`KernelError::UnknownKernel`] /
    /// [`KernelError::AmbiguousKernel`] for a bad id prefix;
    /// [`KernelError::CorruptEntry`] for a cached image that does not match
    /// its metadata.
    pub fn resolve(&self, spec: Option<&str>) -> Result<ResolvedKernel, KernelError> {
        // A cached entry is checked before it is handed out: a damaged image
        // is refused with the fix, never booted.
        let checked = |k: crate::CachedKernel| -> Result<ResolvedKernel, KernelError> {
            k.verify()?;
            Ok(ResolvedKernel::Cached(Box::new(k)))
        };
        let Some(spec) = spec else {
            return checked(self.latest()?);
        };
        let path = Path::new(spec);
        if let (false, Ok(flavor)) = (path.exists(), spec.parse::<crate::Flavor>()) {
            return checked(self.latest_of(flavor)?);
        }
        if !path.exists() && !spec.contains('/') {
            return checked(self.get(spec)?);
        }
        let image = image_in(path);
        check_kernel_image(&image)?;
        let config = config_beside(&image);
        if let Some(config_path) = &config {
            let text = fs::read_to_string(config_path)
                .map_err(KernelError::io("read kernel config", config_path))?;
            if !config::config_has_sched_ext(&text) {
                return Err(KernelError::NoSchedExt {
                    config: config_path.clone(),
                });
            }
        }
        Ok(ResolvedKernel::Image {
            bzimage: image,
            config,
        })
    }
}

/// The image a path designates: the path itself, or for a directory its
/// `bzImage` (cache entry layout) or `arch/x86/boot/bzImage` (build tree).
fn image_in(path: &Path) -> PathBuf {
    if !path.is_dir() {
        return path.to_owned();
    }
    let candidates = [path.join("bzImage"), path.join("arch/x86/boot/bzImage")];
    candidates
        .iter()
        .find(|p| p.is_file())
        .unwrap_or(&candidates[1])
        .clone()
}

/// The kernel config belonging to `image`, if one is found.
fn config_beside(image: &Path) -> Option<PathBuf> {
    let dir = image.parent()?;
    let mut candidates = vec![dir.join(".config"), dir.join("config")];
    // <tree>/arch/x86/boot/bzImage: the config is at <tree>/.config.
    if image.ends_with("arch/x86/boot/bzImage") {
        if let Some(tree) = dir.ancestors().nth(3) {
            candidates.push(tree.join(".config"));
        }
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Checks that `path` is an existing x86 bzImage or ELF vmlinux.
///
/// # Errors
///
/// [`KernelError::ImageMissing`] if it does not exist or is not a file,
/// [`KernelError::NotAKernelImage`] if it is neither format.
pub fn check_kernel_image(path: &Path) -> Result<(), KernelError> {
    if !path.is_file() {
        return Err(KernelError::ImageMissing {
            path: path.to_owned(),
        });
    }
    // bzImage: "HdrS" at 0x202 (the x86 boot protocol header). vmlinux: ELF.
    let mut head = [0u8; 0x206];
    let mut file = fs::File::open(path).map_err(KernelError::io("open kernel image", path))?;
    let n = read_up_to(&mut file, &mut head).map_err(KernelError::io("read kernel image", path))?;
    let bzimage = n >= 0x206 && &head[0x202..0x206] == b"HdrS";
    let elf = n >= 4 && &head[..4] == b"\x7fELF";
    if bzimage || elf {
        Ok(())
    } else {
        Err(KernelError::NotAKernelImage {
            path: path.to_owned(),
        })
    }
}

fn read_up_to(file: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::tests::fake_entry;

    fn fake_bzimage(path: &Path) {
        let mut bytes = vec![0u8; 0x400];
        bytes[0x202..0x206].copy_from_slice(b"HdrS");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn empty_cache_says_to_build() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().to_owned());
        let err = cache.resolve(None).unwrap_err();
        assert!(matches!(err, KernelError::NoKernel { .. }));
        assert!(
            err.to_string().contains("run `ktstr kernel build`"),
            "{err}"
        );
    }

    #[test]
    fn none_and_prefix_resolve_to_cache_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().join("cache"));
        fake_entry(&cache, "aaaa00000000", 1);
        let newest = fake_entry(&cache, "bbbb00000000", 2);
        assert_eq!(
            cache.resolve(None).unwrap(),
            ResolvedKernel::Cached(Box::new(newest))
        );
        let older = cache.resolve(Some("aaaa")).unwrap();
        assert_eq!(older.cached().unwrap().id, "aaaa00000000");
        assert!(older.scheduler("scx_simple").is_some());
        assert!(matches!(
            cache.resolve(Some("zz")),
            Err(KernelError::UnknownKernel { .. })
        ));
    }

    #[test]
    fn missing_image_path_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().to_owned());
        let err = cache.resolve(Some("/nonexistent/bzImage")).unwrap_err();
        assert!(matches!(err, KernelError::ImageMissing { .. }));
        assert!(err.to_string().contains("`/nonexistent/bzImage`"), "{err}");
    }

    #[test]
    fn non_kernel_file_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("notes.txt");
        fs::write(&path, "hello").unwrap();
        assert!(matches!(
            check_kernel_image(&path),
            Err(KernelError::NotAKernelImage { .. })
        ));
    }

    #[test]
    fn image_with_config_lacking_sched_ext_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().join("cache"));
        let tree = tmp.path().join("linux");
        let image = tree.join("arch/x86/boot/bzImage");
        fake_bzimage(&image);
        fs::write(
            tree.join(".config"),
            "# CONFIG_SCHED_CLASS_EXT is not set\n",
        )
        .unwrap();
        let spec = image.to_str().unwrap();
        let err = cache.resolve(Some(spec)).unwrap_err();
        assert!(
            matches!(&err, KernelError::NoSchedExt { config } if *config == tree.join(".config"))
        );
        assert!(
            err.to_string().contains("CONFIG_SCHED_CLASS_EXT=y"),
            "{err}"
        );

        fs::write(tree.join(".config"), "CONFIG_SCHED_CLASS_EXT=y\n").unwrap();
        let resolved = cache.resolve(Some(spec)).unwrap();
        assert_eq!(resolved.bzimage(), image);
        assert_eq!(resolved.config(), Some(tree.join(".config")));
        assert_eq!(resolved.scheduler("scx_simple"), None);
        // The tree directory itself designates its bzImage.
        assert_eq!(
            cache
                .resolve(Some(tree.to_str().unwrap()))
                .unwrap()
                .bzimage(),
            image
        );
    }

    #[test]
    fn image_without_config_is_accepted_unchecked() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = KernelCache::new(tmp.path().join("cache"));
        let image = tmp.path().join("k/bzImage");
        fake_bzimage(&image);
        let resolved = cache.resolve(Some(image.to_str().unwrap())).unwrap();
        assert_eq!(
            resolved,
            ResolvedKernel::Image {
                bzimage: image,
                config: None
            }
        );
    }
}
