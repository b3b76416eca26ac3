//! The resolved guest file tree: what the archive will contain, independent of the order the
//! builder was called in.
//!
//! Keeping the tree in a `BTreeMap` keyed by path is what makes the output deterministic:
//! entries come out sorted, and since a parent path is a prefix of its children it sorts
//! before them, which is the order both the kernel and `cpio -i` need.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::cpio::{self, CpioEntry, S_IFDIR, S_IFLNK, S_IFREG};
use super::InitramfsError;

/// Mode of every directory, explicit or created as a parent.
const DIR_MODE: u32 = 0o755;
/// Bumped whenever the archive layout changes, so stale cache files are not reused.
const HASH_DOMAIN: &[u8] = b"ktstr-initramfs-newc-v1\0";

/// One node of the guest tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Dir,
    File { mode: u32, data: Arc<[u8]> },
    Symlink { target: String },
}

/// Guest paths (absolute, normalized, never `/` itself) mapped to their nodes.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    nodes: BTreeMap<String, Node>,
}

/// Checks a user-supplied guest path and returns it normalized: absolute, no empty or `.`
/// components, no trailing slash. `..` is refused rather than resolved, because what it
/// means depends on symlinks the caller may add.
///
/// Returns `/` for the root itself; callers decide whether that is allowed.
pub(crate) fn normalize_guest_path(path: &str) -> Result<String, InitramfsError> {
    let invalid = |reason| InitramfsError::InvalidGuestPath {
        path: path.to_owned(),
        reason,
    };
    if !path.starts_with('/') {
        return Err(invalid("must be absolute"));
    }
    if path.contains('\0') {
        return Err(invalid("contains a NUL byte"));
    }
    let mut normalized = String::with_capacity(path.len());
    for component in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if component == ".." {
            return Err(invalid("must not contain `..`"));
        }
        normalized.push('/');
        normalized.push_str(component);
    }
    if normalized.is_empty() {
        normalized.push('/');
    }
    Ok(normalized)
}

impl Tree {
    /// Adds `node` at `path` (already normalized, not `/`), creating missing parents.
    ///
    /// Re-adding an identical node is fine (two binaries share libc); anything else at an
    /// occupied path is a [`InitramfsError::Conflict`], so the result never depends on which
    /// call came first.
    pub(crate) fn insert(&mut self, path: &str, node: Node) -> Result<(), InitramfsError> {
        debug_assert!(
            path.starts_with('/') && path.len() > 1,
            "unnormalized path {path:?}"
        );
        let conflict = |at: &str| InitramfsError::Conflict {
            path: at.to_owned(),
        };
        for (i, _) in path.match_indices('/').skip(1) {
            let parent = &path[..i];
            match self.nodes.get(parent) {
                None => {
                    self.nodes.insert(parent.to_owned(), Node::Dir);
                }
                Some(Node::Dir) => {}
                Some(_) => return Err(conflict(parent)),
            }
        }
        match self.nodes.get(path) {
            None => {
                self.nodes.insert(path.to_owned(), node);
                Ok(())
            }
            Some(existing) if *existing == node => Ok(()),
            Some(_) => Err(conflict(path)),
        }
    }

    /// A sha256 hex digest of the tree: paths, kinds, modes and contents. Equal digests mean
    /// byte-identical archives.
    pub(crate) fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(HASH_DOMAIN);
        for (path, node) in &self.nodes {
            // Paths contain no NUL, and contents are length-prefixed, so this is unambiguous.
            hasher.update(path.as_bytes());
            hasher.update([0]);
            let (kind, mode, data): (u8, u32, &[u8]) = match node {
                Node::Dir => (b'd', DIR_MODE, &[]),
                Node::File { mode, data } => (b'f', *mode, data),
                Node::Symlink { target } => (b'l', 0o777, target.as_bytes()),
            };
            hasher.update([kind]);
            hasher.update(mode.to_le_bytes());
            hasher.update((data.len() as u64).to_le_bytes());
            hasher.update(data);
        }
        hex::encode(hasher.finalize())
    }

    /// The newc archive: sorted entries, inode numbers from 1 in that order, and every
    /// host-specific field (owner, times, devices) zero.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, InitramfsError> {
        let entries: Vec<CpioEntry> = self
            .nodes
            .iter()
            .zip(1u32..)
            .map(|((path, node), ino)| {
                let (mode, nlink, data) = match node {
                    // `.` and the entry in its parent; subdirectory links are not counted,
                    // as no consumer relies on them.
                    Node::Dir => (S_IFDIR | DIR_MODE, 2, Vec::new()),
                    Node::File { mode, data } => (S_IFREG | mode, 1, data.to_vec()),
                    Node::Symlink { target } => (S_IFLNK | 0o777, 1, target.clone().into_bytes()),
                };
                CpioEntry {
                    // Relative names: `cpio -i` would otherwise strip the `/` with a warning,
                    // and the kernel unpacks relative to `/` either way.
                    name: path[1..].to_owned(),
                    ino,
                    mode,
                    uid: 0,
                    gid: 0,
                    nlink,
                    mtime: 0,
                    devmajor: 0,
                    devminor: 0,
                    rdevmajor: 0,
                    rdevminor: 0,
                    data,
                }
            })
            .collect();
        cpio::encode(&entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(data: &[u8]) -> Node {
        Node::File {
            mode: 0o644,
            data: data.into(),
        }
    }

    #[test]
    fn guest_paths_are_normalized_or_rejected() {
        assert_eq!(normalize_guest_path("/a//b/./c/").unwrap(), "/a/b/c");
        assert_eq!(normalize_guest_path("/").unwrap(), "/");
        for bad in ["", "a/b", "/a/../b", "/..", "/a\0b"] {
            assert!(
                matches!(
                    normalize_guest_path(bad),
                    Err(InitramfsError::InvalidGuestPath { .. })
                ),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn parents_are_created_and_sorted_before_children() {
        let mut tree = Tree::default();
        tree.insert("/a/b/c", file(b"x")).unwrap();
        tree.insert("/a-b", file(b"y")).unwrap();
        let names: Vec<_> = tree.nodes.keys().map(String::as_str).collect();
        assert_eq!(names, ["/a", "/a-b", "/a/b", "/a/b/c"]);
        assert_eq!(tree.nodes["/a/b"], Node::Dir);
    }

    #[test]
    fn identical_reinsert_is_allowed_and_different_content_conflicts() {
        let mut tree = Tree::default();
        tree.insert("/lib/libc.so.6", file(b"elf")).unwrap();
        tree.insert("/lib/libc.so.6", file(b"elf")).unwrap();
        tree.insert("/lib", Node::Dir).unwrap();
        let err = tree.insert("/lib/libc.so.6", file(b"other")).unwrap_err();
        assert!(matches!(err, InitramfsError::Conflict { ref path } if path == "/lib/libc.so.6"));
    }

    #[test]
    fn file_used_as_a_parent_conflicts_in_either_order() {
        let mut first = Tree::default();
        first.insert("/a", file(b"x")).unwrap();
        assert!(first.insert("/a/b", file(b"y")).is_err());

        let mut second = Tree::default();
        second.insert("/a/b", file(b"y")).unwrap();
        assert!(second.insert("/a", file(b"x")).is_err());
    }

    #[test]
    fn hash_tracks_content_and_mode() {
        let hash = |node: Node| {
            let mut tree = Tree::default();
            tree.insert("/f", node).unwrap();
            tree.content_hash()
        };
        let base = hash(file(b"x"));
        assert_eq!(base.len(), 64);
        assert_eq!(base, hash(file(b"x")));
        assert_ne!(base, hash(file(b"y")));
        assert_ne!(
            base,
            hash(Node::File {
                mode: 0o755,
                data: b"x".as_slice().into()
            })
        );
        assert_ne!(base, hash(Node::Symlink { target: "x".into() }));
    }
}
