//! [`InitramfsBuilder`]: records what the caller asks for, and resolves it (reading host
//! files, following library closures) only when an archive or hash is requested.

use std::cell::OnceCell;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::tree::{normalize_guest_path, Node, Tree};
use super::{elf, search, InitramfsError};

/// Mode of binaries added with [`InitramfsBuilder::binary`] and
/// [`InitramfsBuilder::init_binary`].
const BINARY_MODE: u32 = 0o755;
/// Mode of cache files: readable by other users sharing a cache directory.
const CACHE_FILE_MODE: u32 = 0o644;

/// Builds a deterministic, uncompressed newc cpio archive for use as an initramfs.
///
/// Calls only record requests; host files are read by [`build`](Self::build),
/// [`content_hash`](Self::content_hash) and [`write_cached`](Self::write_cached). The
/// archive depends on the set of requests, not their order: entries are sorted, and owners,
/// times and device numbers are zero. Parent directories are created as needed (mode
/// `0755`). Adding the same content twice at one path is fine; different content, or a path
/// used as both a directory and a file, is an [`InitramfsError::Conflict`].
///
/// See the [module documentation](super) for an example.
#[derive(Debug, Clone, Default)]
pub struct InitramfsBuilder {
    specs: Vec<Spec>,
}

#[derive(Debug, Clone)]
enum Spec {
    Binary {
        host: PathBuf,
        guest: String,
    },
    File {
        guest: String,
        data: Arc<[u8]>,
        mode: u32,
    },
    HostFile {
        host: PathBuf,
        guest: String,
        mode: u32,
    },
    Dir {
        guest: String,
    },
    Symlink {
        guest: String,
        target: String,
    },
}

impl InitramfsBuilder {
    /// An empty builder; [`build`](Self::build) on it yields an archive with just the trailer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Packs the host ELF binary at `host_path` as `/init`, the program the kernel runs first,
    /// with its shared-library closure. Same as `.binary(host_path, "/init")`.
    #[must_use]
    pub fn init_binary(self, host_path: impl Into<PathBuf>) -> Self {
        self.binary(host_path, "/init")
    }

    /// Packs the host ELF binary at `host_path` as `guest_path` (mode `0755`), together with
    /// its `PT_INTERP` loader and every library its `DT_NEEDED` entries pull in.
    ///
    /// Libraries are searched as the dynamic loader would: `DT_RPATH` / `DT_RUNPATH` (with
    /// `$ORIGIN`), the directories in `/etc/ld.so.conf`, then `/lib/x86_64-linux-gnu`,
    /// `/usr/lib/x86_64-linux-gnu`, `/lib64` and `/usr/lib`. Each is stored at the path it was
    /// found at, with the contents of the file at the end of any host symlinks, so the guest
    /// loader finds it where the host loader did. Statically linked binaries bring nothing
    /// else.
    ///
    /// The guest has no `ld.so.cache`, so a library found only through an `ld.so.conf`
    /// directory outside the loader's built-in list (such as `/usr/local/lib`) is packed but
    /// not found at run time unless the guest sets `LD_LIBRARY_PATH`.
    #[must_use]
    pub fn binary(mut self, host_path: impl Into<PathBuf>, guest_path: impl Into<String>) -> Self {
        self.specs.push(Spec::Binary {
            host: host_path.into(),
            guest: guest_path.into(),
        });
        self
    }

    /// Adds a regular file with `contents` and permission bits `mode` (such as `0o644`).
    #[must_use]
    pub fn file(
        mut self,
        guest_path: impl Into<String>,
        contents: impl Into<Vec<u8>>,
        mode: u32,
    ) -> Self {
        let data = contents.into().into();
        self.specs.push(Spec::File {
            guest: guest_path.into(),
            data,
            mode,
        });
        self
    }

    /// Adds a regular file whose contents are read from `host_path` at build time. Unlike
    /// [`binary`](Self::binary), no libraries are added.
    #[must_use]
    pub fn file_from_host(
        mut self,
        host_path: impl Into<PathBuf>,
        guest_path: impl Into<String>,
        mode: u32,
    ) -> Self {
        self.specs.push(Spec::HostFile {
            host: host_path.into(),
            guest: guest_path.into(),
            mode,
        });
        self
    }

    /// Adds a directory (mode `0755`), for mount points and the like that hold no files.
    #[must_use]
    pub fn dir(mut self, guest_path: impl Into<String>) -> Self {
        self.specs.push(Spec::Dir {
            guest: guest_path.into(),
        });
        self
    }

    /// Adds a symbolic link at `guest_path` pointing to `target`, which is stored verbatim
    /// and may be relative.
    #[must_use]
    pub fn symlink(mut self, guest_path: impl Into<String>, target: impl Into<String>) -> Self {
        self.specs.push(Spec::Symlink {
            guest: guest_path.into(),
            target: target.into(),
        });
        self
    }

    /// Resolves every request and encodes the archive.
    ///
    /// # Errors
    ///
    /// A missing or non-ELF binary, an unresolvable library, an unreadable host file, an
    /// invalid guest path or mode, or conflicting entries; see [`InitramfsError`].
    pub fn build(&self) -> Result<Vec<u8>, InitramfsError> {
        self.resolve()?.encode()
    }

    /// A sha256 hex digest of the archive's logical content (paths, kinds, modes, file
    /// contents, library closures included). Equal digests mean byte-identical archives, so
    /// the digest can key a cache.
    ///
    /// # Errors
    ///
    /// As for [`build`](Self::build), since host files must be read to be hashed.
    pub fn content_hash(&self) -> Result<String, InitramfsError> {
        Ok(self.resolve()?.content_hash())
    }

    /// Writes the archive to `<cache_dir>/<content_hash>.cpio` unless that file exists, and
    /// returns its path. `cache_dir` is created if missing.
    ///
    /// The file is written under a temporary name and renamed into place, so concurrent
    /// callers never see a partial archive.
    ///
    /// # Errors
    ///
    /// As for [`build`](Self::build), plus [`InitramfsError::Io`] if the cache cannot be
    /// written.
    pub fn write_cached(&self, cache_dir: &Path) -> Result<PathBuf, InitramfsError> {
        let tree = self.resolve()?;
        let path = cache_dir.join(format!("{}.cpio", tree.content_hash()));
        if path.is_file() {
            return Ok(path);
        }
        let bytes = tree.encode()?;
        fs::create_dir_all(cache_dir).map_err(InitramfsError::io(cache_dir))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(cache_dir).map_err(InitramfsError::io(cache_dir))?;
        tmp.write_all(&bytes)
            .map_err(InitramfsError::io(tmp.path()))?;
        let permissions = fs::Permissions::from_mode(CACHE_FILE_MODE);
        tmp.as_file()
            .set_permissions(permissions)
            .map_err(InitramfsError::io(tmp.path()))?;
        // A concurrent writer may have renamed the same content into place first; replacing
        // it is harmless.
        tmp.persist(&path).map_err(|e| InitramfsError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(path)
    }

    fn resolve(&self) -> Result<Tree, InitramfsError> {
        let mut tree = Tree::default();
        // Reading ld.so.conf is only needed for dynamically linked binaries.
        let system_dirs = OnceCell::new();
        for spec in &self.specs {
            match spec {
                Spec::Binary { host, guest } => {
                    let dirs = system_dirs.get_or_init(search::system_dirs);
                    add_binary(&mut tree, host, guest, dirs)?;
                }
                Spec::File { guest, data, mode } => {
                    let guest = file_path(guest)?;
                    check_mode(&guest, *mode)?;
                    tree.insert(
                        &guest,
                        Node::File {
                            mode: *mode,
                            data: Arc::clone(data),
                        },
                    )?;
                }
                Spec::HostFile { host, guest, mode } => {
                    let guest = file_path(guest)?;
                    check_mode(&guest, *mode)?;
                    let data = fs::read(host).map_err(InitramfsError::io(host))?;
                    tree.insert(
                        &guest,
                        Node::File {
                            mode: *mode,
                            data: data.into(),
                        },
                    )?;
                }
                Spec::Dir { guest } => {
                    let guest = normalize_guest_path(guest)?;
                    // The root always exists; asking for it is harmless.
                    if guest != "/" {
                        tree.insert(&guest, Node::Dir)?;
                    }
                }
                Spec::Symlink { guest, target } => {
                    let guest = file_path(guest)?;
                    if target.is_empty() || target.contains('\0') {
                        return Err(InitramfsError::InvalidGuestPath {
                            path: guest,
                            reason: "symlink target is empty or contains a NUL byte",
                        });
                    }
                    tree.insert(
                        &guest,
                        Node::Symlink {
                            target: target.clone(),
                        },
                    )?;
                }
            }
        }
        Ok(tree)
    }
}

/// Adds the binary at `host` as `guest`, with its loader and libraries.
fn add_binary(
    tree: &mut Tree,
    host: &Path,
    guest: &str,
    system_dirs: &[PathBuf],
) -> Result<(), InitramfsError> {
    let guest = file_path(guest)?;
    let data = fs::read(host).map_err(|source| InitramfsError::MissingBinary {
        path: host.to_owned(),
        source,
    })?;
    for dep in elf::closure(host, Path::new(&guest), &data, system_dirs)? {
        let Some(path) = dep.guest.to_str() else {
            return Err(InitramfsError::InvalidGuestPath {
                path: dep.guest.to_string_lossy().into_owned(),
                reason: "is not UTF-8",
            });
        };
        let node = Node::File {
            mode: dep.mode,
            data: dep.data.into(),
        };
        tree.insert(path, node)?;
    }
    let node = Node::File {
        mode: BINARY_MODE,
        data: data.into(),
    };
    tree.insert(&guest, node)
}

/// A normalized guest path that can hold a file or symlink, which the root cannot.
fn file_path(path: &str) -> Result<String, InitramfsError> {
    let normalized = normalize_guest_path(path)?;
    if normalized == "/" {
        return Err(InitramfsError::InvalidGuestPath {
            path: path.to_owned(),
            reason: "names the root directory",
        });
    }
    Ok(normalized)
}

fn check_mode(path: &str, mode: u32) -> Result<(), InitramfsError> {
    if mode & !0o7777 != 0 {
        return Err(InitramfsError::InvalidMode {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::initramfs::{parse_newc, CpioEntry};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const ENV: &str = "/usr/bin/env";

    fn entry<'a>(entries: &'a [CpioEntry], name: &str) -> &'a CpioEntry {
        entries
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no `{name}` in archive"))
    }

    #[test]
    fn init_binary_is_packed_with_its_closure() {
        let archive = InitramfsBuilder::new().init_binary(ENV).build().unwrap();
        let entries = parse_newc(&archive).unwrap();
        let init = entry(&entries, "init");
        assert!(init.is_file());
        assert_eq!(init.permissions(), 0o755);
        assert_eq!(init.data, fs::read(ENV).unwrap());
        let loader = entry(&entries, "lib64/ld-linux-x86-64.so.2");
        assert!(
            loader.is_file(),
            "the loader is stored as content, not a host symlink"
        );
        assert!(entries
            .iter()
            .any(|e| e.name.ends_with("/libc.so.6") && e.is_file()));
        assert!(entry(&entries, "lib64").is_dir());
    }

    #[test]
    fn headers_are_host_independent_and_inodes_sequential() {
        let archive = InitramfsBuilder::new()
            .file("/etc/a/b", "x", 0o600)
            .build()
            .unwrap();
        let entries = parse_newc(&archive).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["etc", "etc/a", "etc/a/b"]);
        for (e, ino) in entries.iter().zip(1..) {
            assert_eq!((e.ino, e.uid, e.gid, e.mtime), (ino, 0, 0, 0), "{}", e.name);
            assert_eq!(e.nlink, if e.is_dir() { 2 } else { 1 });
        }
        assert_eq!(entries[2].mode, 0o100_600);
    }

    #[test]
    fn build_is_deterministic_across_calls_and_insertion_order() {
        let forward = InitramfsBuilder::new()
            .init_binary(ENV)
            .file("/etc/motd", "hi", 0o644)
            .dir("/proc")
            .symlink("/bin/sh", "/init");
        let backward = InitramfsBuilder::new()
            .symlink("/bin/sh", "/init")
            .dir("/proc")
            .file("/etc/motd", "hi", 0o644)
            .init_binary(ENV);
        let first = forward.build().unwrap();
        assert_eq!(first, forward.build().unwrap());
        assert_eq!(first, backward.build().unwrap());
        assert_eq!(
            forward.content_hash().unwrap(),
            backward.content_hash().unwrap()
        );
    }

    #[test]
    fn two_binaries_share_their_libraries() {
        let archive = InitramfsBuilder::new()
            .binary(ENV, "/bin/env")
            .binary("/usr/bin/true", "/bin/true")
            .build()
            .unwrap();
        let entries = parse_newc(&archive).unwrap();
        assert_eq!(
            entries
                .iter()
                .filter(|e| e.name.ends_with("/libc.so.6"))
                .count(),
            1
        );
    }

    #[test]
    fn write_cached_writes_once_under_the_hash() {
        let cache = tempfile::tempdir().unwrap();
        let dir = cache.path().join("nested");
        let builder = InitramfsBuilder::new().file("/x", "1", 0o644);
        let path = builder.write_cached(&dir).unwrap();
        assert_eq!(
            path,
            dir.join(format!("{}.cpio", builder.content_hash().unwrap()))
        );
        assert_eq!(fs::read(&path).unwrap(), builder.build().unwrap());

        // An existing file is trusted, not rewritten.
        fs::write(&path, b"sentinel").unwrap();
        assert_eq!(builder.write_cached(&dir).unwrap(), path);
        assert_eq!(fs::read(&path).unwrap(), b"sentinel");

        let other = InitramfsBuilder::new()
            .file("/x", "2", 0o644)
            .write_cached(&dir)
            .unwrap();
        assert_ne!(other, path);
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            2,
            "no temporary files left behind"
        );
    }

    #[test]
    fn missing_binary_names_the_path_and_says_to_check_it() {
        let err = InitramfsBuilder::new()
            .init_binary("/no/such/binary")
            .build()
            .unwrap_err();
        assert!(
            matches!(err, InitramfsError::MissingBinary { .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("`/no/such/binary`") && message.contains("exists"),
            "{message}"
        );
    }

    #[test]
    fn non_elf_binary_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("script");
        fs::write(&script, "#!/bin/sh\n").unwrap();
        let err = InitramfsBuilder::new()
            .init_binary(&script)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, InitramfsError::NotElf { ref path, .. } if *path == script),
            "{err:?}"
        );
    }

    #[test]
    fn bad_paths_and_modes_are_rejected() {
        let invalid = |builder: InitramfsBuilder| match builder.build() {
            Err(InitramfsError::InvalidGuestPath { .. }) => {}
            other => panic!("expected InvalidGuestPath, got {other:?}"),
        };
        invalid(InitramfsBuilder::new().file("relative", "", 0o644));
        invalid(InitramfsBuilder::new().file("/a/../etc/passwd", "", 0o644));
        invalid(InitramfsBuilder::new().binary(ENV, "/"));
        invalid(InitramfsBuilder::new().symlink("/l", ""));
        let err = InitramfsBuilder::new()
            .file("/f", "", 0o100_644)
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                InitramfsError::InvalidMode {
                    mode: 0o100_644,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(InitramfsBuilder::new().dir("/").build().is_ok());
    }

    #[test]
    fn conflicting_files_are_an_error() {
        let err = InitramfsBuilder::new()
            .file("/a", "1", 0o644)
            .file("/a", "2", 0o644)
            .build();
        assert!(
            matches!(err, Err(InitramfsError::Conflict { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn missing_host_file_is_an_io_error() {
        let err = InitramfsBuilder::new()
            .file_from_host("/no/such", "/x", 0o644)
            .build();
        assert!(
            matches!(err, Err(InitramfsError::Io { ref path, .. }) if path == Path::new("/no/such"))
        );
    }

    /// Random file sets in which no file is also used as a directory.
    fn file_sets() -> impl Strategy<Value = BTreeMap<String, (Vec<u8>, u32)>> {
        let path = proptest::collection::vec("[a-z0-9._-]{1,6}", 1..4)
            .prop_filter("`.` and `..` are not file names", |parts| {
                parts.iter().all(|p| p != "." && p != "..")
            })
            .prop_map(|parts| format!("/{}", parts.join("/")));
        let file = (proptest::collection::vec(any::<u8>(), 0..40), 0u32..=0o7777);
        proptest::collection::btree_map(path, file, 0..12).prop_map(|mut files| {
            let dirs: Vec<String> = files.keys().map(|p| format!("{p}/")).collect();
            files.retain(|p, _| !dirs.iter().any(|d| p.starts_with(d.as_str())));
            files
        })
    }

    proptest! {
        #[test]
        fn random_file_sets_round_trip(files in file_sets(), seed in 0usize..64) {
            let mut specs: Vec<_> = files.iter().collect();
            let builder = specs.iter().fold(InitramfsBuilder::new(), |b, (path, (data, mode))| {
                b.file(path.as_str(), data.clone(), *mode)
            });
            // Any other order gives the same bytes.
            let rotation = seed % specs.len().max(1);
            specs.rotate_left(rotation);
            specs.reverse();
            let shuffled = specs.iter().fold(InitramfsBuilder::new(), |b, (path, (data, mode))| {
                b.file(path.as_str(), data.clone(), *mode)
            });
            let archive = builder.build().unwrap();
            prop_assert_eq!(&archive, &shuffled.build().unwrap());

            let entries = parse_newc(&archive).unwrap();
            for (path, (data, mode)) in &files {
                let e = entry(&entries, &path[1..]);
                prop_assert!(e.is_file());
                prop_assert_eq!(&e.data, data);
                prop_assert_eq!(e.permissions(), *mode);
            }
            let dirs = entries.iter().filter(|e| e.is_dir()).count();
            prop_assert_eq!(dirs + files.len(), entries.len());
        }
    }
}
