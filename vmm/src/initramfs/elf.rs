//! The shared-library closure of an ELF binary, found the way glibc's loader would find it.
//!
//! For each `DT_NEEDED` name, in breadth-first order like the loader:
//! 1. a name already loaded (by `DT_NEEDED` name or `DT_SONAME`) is reused;
//! 2. if the needing object has no `DT_RUNPATH`: the `DT_RPATH` of it, then of the object
//!    that loaded it, and so on up to the executable;
//! 3. the needing object's own `DT_RUNPATH`;
//! 4. the system directories ([`search::system_dirs`]).
//!
//! Candidates of the wrong ELF class or machine are skipped, as the loader skips them.
//!
//! Every search directory has a host side (where to read) and a guest side (where to put the
//! file). They differ only for `$ORIGIN` of the top binary when it is packed at another
//! path: `$ORIGIN/../lib` must point next to where the binary *will* be. Libraries are stored
//! at the path they were found at, so their own `$ORIGIN` is the same on both sides.

use std::collections::{HashSet, VecDeque};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use goblin::elf::Elf;

use super::search::{expand_tokens, lexical_normalize};
use super::InitramfsError;

/// One file the closure adds to the guest.
#[derive(Debug)]
pub(crate) struct Dependency {
    /// Absolute, normalized guest path.
    pub guest: PathBuf,
    /// Host path it was found at.
    pub host: PathBuf,
    /// Contents of the file at the end of any host symlinks.
    pub data: Vec<u8>,
    /// Permission bits of the host file.
    pub mode: u32,
}

/// A directory to search, seen from both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SearchDir {
    host: PathBuf,
    guest: PathBuf,
}

/// What the loader needs to know about one object.
#[derive(Debug)]
struct ElfInfo {
    interp: Option<String>,
    needed: Vec<String>,
    soname: Option<String>,
    rpath: Vec<String>,
    runpath: Vec<String>,
    is_64: bool,
    machine: u16,
}

impl ElfInfo {
    fn parse(path: &Path, data: &[u8]) -> Result<Self, InitramfsError> {
        let elf = Elf::parse(data).map_err(|e| InitramfsError::NotElf {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let split = |entries: &[&str]| -> Vec<String> {
            entries
                .iter()
                .flat_map(|e| e.split(':'))
                .map(str::to_owned)
                .collect()
        };
        Ok(Self {
            interp: elf.interpreter.map(str::to_owned),
            needed: elf.libraries.iter().map(|s| (*s).to_owned()).collect(),
            soname: elf.soname.map(str::to_owned),
            rpath: split(&elf.rpaths),
            runpath: split(&elf.runpaths),
            is_64: elf.is_64,
            machine: elf.header.e_machine,
        })
    }

    /// Expands this object's entries of one kind against its host and guest directories.
    fn dirs(entries: &[String], host_origin: &Path, guest_origin: &Path) -> Vec<SearchDir> {
        entries
            .iter()
            .filter_map(|entry| {
                Some(SearchDir {
                    host: expand_tokens(entry, host_origin)?,
                    guest: expand_tokens(entry, guest_origin)?,
                })
            })
            .collect()
    }
}

/// A `DT_NEEDED` name waiting to be resolved.
struct Pending {
    name: String,
    needed_by: PathBuf,
    /// Directories for this lookup, in order.
    dirs: Rc<[SearchDir]>,
    /// The `DT_RPATH` chain of the needing object and its loaders, inherited by the result.
    rpath_chain: Rc<[SearchDir]>,
    is_64: bool,
    machine: u16,
}

/// Resolves the interpreter and the full `DT_NEEDED` closure of `binary`, whose contents
/// are `data` and which will live at `guest` in the initramfs.
///
/// Statically linked binaries yield nothing. `system_dirs` are the host loader's system
/// directories, in order.
pub(crate) fn closure(
    binary: &Path,
    guest: &Path,
    data: &[u8],
    system_dirs: &[PathBuf],
) -> Result<Vec<Dependency>, InitramfsError> {
    let info = ElfInfo::parse(binary, data)?;
    let mut deps = Vec::new();
    let mut loaded = HashSet::new();

    if let Some(interp) = &info.interp {
        let dep = read_dependency(Path::new(interp), lexical_normalize(Path::new(interp)))?;
        let interp_info = ElfInfo::parse(&dep.host, &dep.data)?;
        // libc.so.6 lists `ld-linux-x86-64.so.2` as needed; the loader satisfies that with
        // itself instead of searching, so a second copy must not be packed.
        loaded.extend(interp_info.soname);
        loaded.extend(
            dep.host
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned),
        );
        deps.push(dep);
    }

    // The loader takes the executable's `$ORIGIN` from /proc/self/exe, which has symlinks
    // resolved.
    let host_origin = fs::canonicalize(binary)
        .map_err(InitramfsError::io(binary))?
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_owned);
    let guest_origin = guest.parent().unwrap_or(Path::new("/"));
    let mut queue = VecDeque::new();
    enqueue(
        &mut queue,
        binary,
        &info,
        &host_origin,
        guest_origin,
        &[],
        system_dirs,
    );

    while let Some(pending) = queue.pop_front() {
        if loaded.contains(&pending.name) {
            continue;
        }
        let (dep, dep_info) = find(&pending)?;
        tracing::debug!(library = %pending.name, host = %dep.host.display(), "resolved");
        loaded.insert(pending.name.clone());
        loaded.extend(dep_info.soname.clone());
        let host_dir = dep.host.parent().unwrap_or(Path::new("/"));
        let guest_dir = dep.guest.parent().unwrap_or(Path::new("/"));
        let chain = &pending.rpath_chain;
        enqueue(
            &mut queue,
            &dep.host,
            &dep_info,
            host_dir,
            guest_dir,
            chain,
            system_dirs,
        );
        deps.push(dep);
    }
    Ok(deps)
}

/// Queues the needed names of one object with the directories the loader would search.
fn enqueue(
    queue: &mut VecDeque<Pending>,
    path: &Path,
    info: &ElfInfo,
    host_origin: &Path,
    guest_origin: &Path,
    loader_chain: &[SearchDir],
    system_dirs: &[PathBuf],
) {
    // glibc ignores an object's DT_RPATH entirely when it has a DT_RUNPATH.
    let rpath = if info.runpath.is_empty() {
        ElfInfo::dirs(&info.rpath, host_origin, guest_origin)
    } else {
        Vec::new()
    };
    let runpath = ElfInfo::dirs(&info.runpath, host_origin, guest_origin);
    let chain: Rc<[SearchDir]> = rpath
        .into_iter()
        .chain(loader_chain.iter().cloned())
        .collect();
    let system = system_dirs.iter().map(|d| SearchDir {
        host: d.clone(),
        guest: d.clone(),
    });
    // The RPATH chain is consulted only when the needing object itself has no RUNPATH.
    let inherited: &[SearchDir] = if info.runpath.is_empty() { &chain } else { &[] };
    let dirs: Rc<[SearchDir]> = inherited
        .iter()
        .cloned()
        .chain(runpath)
        .chain(system)
        .collect();
    for name in &info.needed {
        queue.push_back(Pending {
            name: name.clone(),
            needed_by: path.to_owned(),
            dirs: Rc::clone(&dirs),
            rpath_chain: Rc::clone(&chain),
            is_64: info.is_64,
            machine: info.machine,
        });
    }
}

/// Finds one needed library: the first candidate that is an ELF object of the right class
/// and machine.
fn find(pending: &Pending) -> Result<(Dependency, ElfInfo), InitramfsError> {
    let not_found = |searched| InitramfsError::LibraryNotFound {
        library: pending.name.clone(),
        needed_by: pending.needed_by.clone(),
        searched,
    };
    // A name with a slash is a path, used as is; relative ones would depend on the cwd.
    let candidates: Vec<(PathBuf, PathBuf)> = if pending.name.contains('/') {
        let path = Path::new(&pending.name);
        if !path.is_absolute() {
            return Err(not_found(Vec::new()));
        }
        vec![(path.to_owned(), lexical_normalize(path))]
    } else {
        let mut seen = HashSet::new();
        pending
            .dirs
            .iter()
            .filter(|d| seen.insert(&d.host))
            .map(|d| {
                (
                    d.host.join(&pending.name),
                    lexical_normalize(&d.guest.join(&pending.name)),
                )
            })
            .collect()
    };
    for (host, guest) in &candidates {
        // `metadata` follows symlinks: a dangling link is not a candidate.
        if !fs::metadata(host).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let dep = read_dependency(host, guest.clone())?;
        if let Ok(info) = ElfInfo::parse(host, &dep.data) {
            if info.is_64 == pending.is_64 && info.machine == pending.machine {
                return Ok((dep, info));
            }
        }
    }
    let searched = candidates
        .into_iter()
        .map(|(host, _)| host.parent().map(Path::to_owned));
    Err(not_found(searched.flatten().collect()))
}

/// Reads a library or interpreter. Its path comes from the binary, so it is checked to be a
/// regular file first: reading `/dev/zero` or a FIFO would never end.
fn read_dependency(host: &Path, guest: PathBuf) -> Result<Dependency, InitramfsError> {
    let metadata = fs::metadata(host).map_err(InitramfsError::io(host))?;
    if !metadata.is_file() {
        let source = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file");
        return Err(InitramfsError::io(host)(source));
    }
    let data = fs::read(host).map_err(InitramfsError::io(host))?;
    Ok(Dependency {
        guest,
        host: host.to_owned(),
        data,
        mode: metadata.permissions().mode() & 0o7777,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::initramfs::search::system_dirs;
    use goblin::elf::program_header::{PT_DYNAMIC, PT_INTERP};
    use goblin::elf::section_header::{
        SHT_DYNSYM, SHT_GNU_HASH, SHT_GNU_VERNEED, SHT_GNU_VERSYM, SHT_HASH, SHT_NOTE,
    };
    use proptest::prelude::*;
    use proptest::sample::Index;

    const ENV: &str = "/usr/bin/env";
    const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

    fn closure_of(path: &str, guest: &str) -> Result<Vec<Dependency>, InitramfsError> {
        let data = fs::read(path).unwrap();
        closure(Path::new(path), Path::new(guest), &data, &system_dirs())
    }

    fn guest_paths(deps: &[Dependency]) -> Vec<String> {
        deps.iter().map(|d| d.guest.display().to_string()).collect()
    }

    #[test]
    fn env_closure_has_libc_and_the_loader_once() {
        let deps = closure_of(ENV, "/bin/env").unwrap();
        let paths = guest_paths(&deps);
        assert_eq!(paths[0], LOADER, "interpreter first: {paths:?}");
        assert!(paths.iter().any(|p| p.ends_with("/libc.so.6")), "{paths:?}");
        let loaders = paths
            .iter()
            .filter(|p| p.contains("ld-linux-x86-64"))
            .count();
        assert_eq!(
            loaders, 1,
            "libc's own need for the loader reuses it: {paths:?}"
        );
        // Real content, not the host's symlink.
        let loader = &deps[0];
        assert_eq!(&loader.data[..4], b"\x7fELF");
        assert_eq!(loader.data, fs::read(LOADER).unwrap());
    }

    #[test]
    fn static_binary_has_no_closure() {
        let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig"]
            .into_iter()
            .find(|p| {
                fs::read(p).is_ok_and(|d| {
                    ElfInfo::parse(Path::new(p), &d).is_ok_and(|i| i.interp.is_none())
                })
            });
        let Some(ldconfig) = ldconfig else {
            eprintln!("no static ldconfig on this host; skipping");
            return;
        };
        assert!(closure_of(ldconfig, "/sbin/ldconfig").unwrap().is_empty());
    }

    #[test]
    fn missing_library_names_it_the_binary_and_the_search() {
        // Same-length rename of the DT_NEEDED string, so the ELF stays valid.
        let mut data = fs::read("/usr/bin/true").unwrap();
        let at = data
            .windows(10)
            .position(|w| w == b"libc.so.6\0")
            .expect("true needs libc");
        data[at..at + 9].copy_from_slice(b"libQ.so.6");
        let dir = tempfile::tempdir().unwrap();
        let patched = dir.path().join("true");
        fs::write(&patched, &data).unwrap();

        let err = closure(&patched, Path::new("/bin/true"), &data, &system_dirs()).unwrap_err();
        let InitramfsError::LibraryNotFound {
            ref library,
            ref needed_by,
            ref searched,
        } = err
        else {
            panic!("expected LibraryNotFound, got {err:?}");
        };
        assert_eq!(library, "libQ.so.6");
        assert_eq!(needed_by, &patched);
        assert!(
            searched.contains(&PathBuf::from("/usr/lib/x86_64-linux-gnu")),
            "{searched:?}"
        );
        let message = err.to_string();
        assert!(message.contains("`libQ.so.6`") && message.contains(&*patched.to_string_lossy()));
        assert!(message.contains("/lib/x86_64-linux-gnu"), "{message}");
    }

    /// `ElfInfo::parse` on `data`, which must not panic; `Ok` is allowed, since a damaged
    /// file can still be a well-formed ELF.
    fn parse_is_total(data: &[u8]) {
        let _ = ElfInfo::parse(Path::new("/fuzz"), data);
    }

    #[test]
    fn every_truncation_of_a_real_binary_parses_or_errs() {
        let data = fs::read("/bin/true").unwrap();
        assert!(ElfInfo::parse(Path::new("/bin/true"), &data).is_ok());
        for len in 0..data.len() {
            parse_is_total(&data[..len]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_bytes_parse_or_err(data in prop::collection::vec(any::<u8>(), 0..4096)) {
            parse_is_total(&data);
            // The same bytes behind a valid identification, so they reach the headers.
            let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
            elf.extend(&data);
            parse_is_total(&elf);
        }

        /// Edits land in the bytes goblin reads as structure (headers, tables, `.dynamic`)
        /// as often as anywhere in the file, so counts, offsets and sizes get damaged.
        #[test]
        fn damaged_real_binary_parses_or_errs(
            edits in prop::collection::vec((any::<bool>(), any::<Index>(), any::<u8>()), 1..16),
        ) {
            let (mut data, structure) = TRUE.with(Clone::clone);
            for (in_structure, at, byte) in edits {
                let i = match in_structure {
                    true => structure[at.index(structure.len())],
                    false => at.index(data.len()),
                };
                data[i] = byte;
            }
            parse_is_total(&data);
        }
    }

    thread_local! {
        /// `/bin/true` and the offsets of its structural bytes.
        static TRUE: (Vec<u8>, Vec<usize>) = {
            let data = fs::read("/bin/true").unwrap();
            let elf = Elf::parse(&data).unwrap();
            let h = &elf.header;
            let table = |off: u64, n: u16, size: u16| {
                let off = off as usize;
                off..off + usize::from(n) * usize::from(size)
            };
            let mut structure: Vec<usize> = (0..usize::from(h.e_ehsize)).collect();
            structure.extend(table(h.e_phoff, h.e_phnum, h.e_phentsize));
            structure.extend(table(h.e_shoff, h.e_shnum, h.e_shentsize));
            for ph in &elf.program_headers {
                if matches!(ph.p_type, PT_DYNAMIC | PT_INTERP) {
                    structure.extend(ph.file_range());
                }
            }
            for sh in &elf.section_headers {
                let read = [SHT_GNU_HASH, SHT_HASH, SHT_DYNSYM, SHT_NOTE];
                let versions = [SHT_GNU_VERSYM, SHT_GNU_VERNEED];
                if read.contains(&sh.sh_type) || versions.contains(&sh.sh_type) {
                    structure.extend(sh.file_range().into_iter().flatten());
                }
            }
            (data, structure)
        };
    }

    #[test]
    fn an_interpreter_that_is_not_a_regular_file_is_an_error() {
        // Same-length rewrite of the PT_INTERP string, so the ELF stays valid.
        let mut data = fs::read("/bin/true").unwrap();
        let at = data
            .windows(LOADER.len())
            .position(|w| w == LOADER.as_bytes())
            .expect("true names the loader");
        let zero = "/dev/./././././././././zero";
        data[at..at + LOADER.len()].copy_from_slice(zero.as_bytes());
        let err = closure(Path::new("/bin/true"), Path::new("/bin/true"), &data, &[]).unwrap_err();
        let InitramfsError::Io { path, source } = &err else {
            panic!("expected Io, got {err:?}");
        };
        assert_eq!(
            (path.to_str(), source.to_string().as_str()),
            (Some(zero), "not a regular file")
        );
    }

    #[test]
    fn not_an_elf_is_reported() {
        let err = ElfInfo::parse(Path::new("/etc/hostname"), b"#!/bin/sh\n").unwrap_err();
        assert!(matches!(err, InitramfsError::NotElf { .. }), "{err:?}");
    }

    fn info(rpath: &[&str], runpath: &[&str]) -> ElfInfo {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        ElfInfo {
            interp: None,
            needed: vec!["libx.so".into()],
            soname: None,
            rpath: owned(rpath),
            runpath: owned(runpath),
            is_64: true,
            machine: 62,
        }
    }

    fn hosts(dirs: &[SearchDir]) -> Vec<String> {
        dirs.iter().map(|d| d.host.display().to_string()).collect()
    }

    #[test]
    fn rpath_chain_then_runpath_then_system() {
        let system = [PathBuf::from("/sys")];
        let mut queue = VecDeque::new();
        let exe = info(&["$ORIGIN/../lib"], &[]);
        enqueue(
            &mut queue,
            Path::new("/h/bin/app"),
            &exe,
            Path::new("/h/bin"),
            Path::new("/g/bin"),
            &[],
            &system,
        );
        let top = queue.pop_front().unwrap();
        assert_eq!(hosts(&top.dirs), ["/h/lib", "/sys"]);
        assert_eq!(
            top.dirs[0].guest,
            Path::new("/g/lib"),
            "guest side follows the packed path"
        );

        // A library without RUNPATH also searches its loader's RPATH, after its own.
        let lib = info(&["/own"], &[]);
        enqueue(
            &mut queue,
            Path::new("/h/lib/a.so"),
            &lib,
            Path::new("/h/lib"),
            Path::new("/h/lib"),
            &top.rpath_chain,
            &system,
        );
        assert_eq!(
            hosts(&queue.pop_front().unwrap().dirs),
            ["/own", "/h/lib", "/sys"]
        );

        // With RUNPATH, every RPATH is ignored, the loader's too.
        let lib = info(&["/ignored"], &["/run"]);
        enqueue(
            &mut queue,
            Path::new("/h/lib/b.so"),
            &lib,
            Path::new("/h/lib"),
            Path::new("/h/lib"),
            &top.rpath_chain,
            &system,
        );
        let runpath_lib = queue.pop_front().unwrap();
        assert_eq!(hosts(&runpath_lib.dirs), ["/run", "/sys"]);
        assert_eq!(
            hosts(&runpath_lib.rpath_chain),
            ["/h/lib"],
            "its children skip `/ignored`"
        );
    }
}
