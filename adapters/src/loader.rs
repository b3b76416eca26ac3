//! Loading one adapter plugin from a shared library, with abi_stable's layout checks.
//!
//! Before the dynamic loader sees a file, [`check_elf`] reads its ELF headers: glibc maps a
//! library's segments without comparing them to the file's size, so a truncated plugin would
//! be mapped past its end and the first touch of a missing page would kill the process with
//! SIGBUS. What the loader itself refuses (no ELF, no dynamic section) it reports as an error.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError};
use abi_stable::std_types::RSlice;
use thiserror::Error;

use crate::ffi::{AdapterModRef, FfiAdapterInput, FfiMetricHint, ABI_VERSION, INTERFACE_VERSION};
use crate::types::{AdapterFailure, AdapterInfo, AdapterInput, AdapterOutput};

/// An adapter plugin could not be loaded.
#[derive(Debug, Error)]
pub enum PluginLoadError {
    /// The file could not be opened as a shared library: it is missing, not an ELF shared
    /// library for this machine, truncated, or the dynamic loader refused it.
    #[error("failed to open adapter plugin `{path}`: {reason}")]
    Open {
        /// The plugin file.
        path: PathBuf,
        /// What the header check or the dynamic loader said.
        reason: String,
    },
    /// The library exports no abi_stable root module.
    #[error(
        "`{path}` is not a ktstr adapter plugin: it exports no adapter module\n\
         hint: export one with `ktstr_adapters::export_adapter!` in a `cdylib` crate"
    )]
    NotAPlugin {
        /// The plugin file.
        path: PathBuf,
    },
    /// The plugin was built against an incompatible interface.
    #[error(
        "adapter plugin `{path}` is incompatible with this ktstr: {problem}\n\
         hint: rebuild the plugin against ktstr-adapters {INTERFACE_VERSION}"
    )]
    Incompatible {
        /// The plugin file.
        path: PathBuf,
        /// What differs, in one line.
        problem: String,
        /// abi_stable's full report (type layouts), for debugging the plugin.
        report: String,
    },
    /// The plugin's initializer failed or panicked.
    #[error("adapter plugin `{path}` failed to initialize: {reason}")]
    Init {
        /// The plugin file.
        path: PathBuf,
        /// The plugin's error.
        reason: String,
    },
    /// A plugin directory could not be listed.
    #[error("failed to list adapter plugin directory `{path}`")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl PluginLoadError {
    /// The plugin file or directory the error is about.
    pub fn path(&self) -> &Path {
        match self {
            PluginLoadError::Open { path, .. }
            | PluginLoadError::NotAPlugin { path }
            | PluginLoadError::Incompatible { path, .. }
            | PluginLoadError::Init { path, .. }
            | PluginLoadError::ReadDir { path, .. } => path,
        }
    }

    fn from_library(path: &Path, err: LibraryError) -> Self {
        let path = path.to_path_buf();
        let incompatible = |problem: String, report: String| PluginLoadError::Incompatible {
            path: path.clone(),
            problem,
            report,
        };
        match err {
            LibraryError::OpenError { err, .. } => PluginLoadError::Open { path, reason: err.to_string() },
            LibraryError::GetSymbolError { .. } => PluginLoadError::NotAPlugin { path },
            LibraryError::IncompatibleVersionNumber { expected_version, actual_version, .. } => incompatible(
                format!("it was built against ktstr-adapters {actual_version}, this ktstr uses {expected_version}"),
                String::new(),
            ),
            LibraryError::AbiInstability(report) => {
                let report = report.to_string();
                incompatible(format!("the layout of its interface types differs: {}", summarize_layout_report(&report)), report)
            }
            LibraryError::InvalidAbiHeader(header) => {
                incompatible(format!("it was built with an incompatible abi_stable ({header:?})"), String::new())
            }
            LibraryError::InvalidCAbi { .. } => {
                incompatible("it was built by a compiler with a different C ABI".into(), String::new())
            }
            LibraryError::ParseVersionError(e) => incompatible(format!("its version string is malformed: {e}"), String::new()),
            LibraryError::RootModule { err, .. } => PluginLoadError::Init { path, reason: err.to_string().trim().to_string() },
            LibraryError::Many(errors) => match errors.into_iter().next() {
                Some(first) => PluginLoadError::from_library(&path, first),
                None => PluginLoadError::Init { path, reason: "unknown error".into() },
            },
        }
    }
}

/// The first `Error:` entry of abi_stable's layout report, as `what (expected X, found Y)`.
fn summarize_layout_report(report: &str) -> String {
    let mut lines = report.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(what) = line.strip_prefix("Error:") else {
            continue;
        };
        let mut expected = None;
        let mut found = None;
        while let Some(l) = lines.next() {
            match l {
                "Expected:" => expected = lines.next(),
                "Found:" => found = lines.next(),
                _ if l.starts_with("Error:") => break,
                _ => {}
            }
            if expected.is_some() && found.is_some() {
                break;
            }
        }
        return match (expected, found) {
            (Some(e), Some(f)) => format!("{} (expected `{e}`, found `{f}`)", what.trim()),
            _ => what.trim().to_string(),
        };
    }
    report
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no details")
        .to_string()
}

/// An adapter loaded from a plugin file. The library stays loaded for the rest of the process.
pub struct PluginAdapter {
    module: AdapterModRef,
    info: AdapterInfo,
    path: PathBuf,
}

impl PluginAdapter {
    /// Loads the plugin at `path`, checking its interface version and type layouts.
    ///
    /// # Errors
    ///
    /// [`PluginLoadError::Open`] when the file is missing, truncated or otherwise not a loadable
    /// library for this machine, [`PluginLoadError::NotAPlugin`]
    /// when it exports no adapter module, [`PluginLoadError::Incompatible`] when it was built
    /// against an incompatible `ktstr-adapters`, [`PluginLoadError::Init`] when its initializer failed.
    pub fn load(path: &Path) -> Result<Self, PluginLoadError> {
        // A bare name is looked up by the dynamic loader in the system's library
        // directories, not read from the working directory: nothing here to check.
        if path.as_os_str().as_encoded_bytes().contains(&b'/') {
            check_elf(path).map_err(|reason| PluginLoadError::Open {
                path: path.to_path_buf(),
                reason,
            })?;
        }
        let header =
            lib_header_from_path(path).map_err(|e| PluginLoadError::from_library(path, e))?;
        let module = header
            .init_root_module::<AdapterModRef>()
            .map_err(|e| PluginLoadError::from_library(path, e))?;
        let abi = module.abi_version();
        if abi != ABI_VERSION {
            return Err(PluginLoadError::Incompatible {
                path: path.to_path_buf(),
                problem: format!(
                    "it implements adapter ABI version {abi}, this ktstr expects {ABI_VERSION}"
                ),
                report: String::new(),
            });
        }
        Ok(PluginAdapter {
            module,
            info: module.adapter_info(),
            path: path.to_path_buf(),
        })
    }

    /// The plugin file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Name, version and description, as the plugin declared them.
    pub fn info(&self) -> &AdapterInfo {
        &self.info
    }

    /// Runs the plugin.
    ///
    /// # Errors
    ///
    /// The message of a panic the plugin caught at its boundary.
    pub fn try_extract(&self, input: &AdapterInput) -> Result<AdapterOutput, String> {
        let hints: Vec<FfiMetricHint> = input.hints.iter().map(FfiMetricHint::from).collect();
        let extract = self.module.extract();
        extract(&ffi_input(input, &hints))
            .into_result()
            .map(AdapterOutput::from)
            .map_err(|e| e.into_string())
    }

    /// Runs the plugin's [`Adapter::try_extract`](crate::Adapter::try_extract), or its
    /// `extract` when the plugin predates `try_extract` (it then never fails).
    ///
    /// # Errors
    ///
    /// The message of a panic the plugin caught at its boundary; the inner `Err` is the
    /// adapter's own failure.
    pub fn try_extract_typed(
        &self,
        input: &AdapterInput,
    ) -> Result<Result<AdapterOutput, AdapterFailure>, String> {
        let Some(try_extract) = self.module.try_extract() else {
            return self.try_extract(input).map(Ok);
        };
        let hints: Vec<FfiMetricHint> = input.hints.iter().map(FfiMetricHint::from).collect();
        match try_extract(&ffi_input(input, &hints)).into_result() {
            Ok(out) => Ok(Ok(out.into())),
            Err(failure) => failure.into_failure().map(Err),
        }
    }
}

/// Checks that `path` holds a whole 64-bit ELF shared library for this machine: its program
/// headers, every loaded segment, its section header table and every section with contents
/// lie inside the file. Only the headers are read.
///
/// # Errors
///
/// What is wrong, in words that read after "failed to open adapter plugin `…`: ".
fn check_elf(path: &Path) -> Result<(), String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    check_headers(size, |offset, buf| file.read_exact_at(buf, offset))
}

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
/// The most program or section headers a plugin may have (ELF's 16-bit
/// counts allow 65535; extended numbering allows more).
const MAX_TABLE_ENTRIES: u64 = 65_535;
const EHDR_LEN: u64 = 64;
const PHDR_LEN: u64 = 56;
const SHDR_LEN: u64 = 64;
const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const SHT_NOBITS: u32 = 8;
/// `e_machine` of this host, where known.
const HOST_MACHINE: Option<u16> = if cfg!(target_arch = "x86_64") {
    Some(62)
} else if cfg!(target_arch = "aarch64") {
    Some(183)
} else {
    None
};

/// [`check_elf`] on a file of `size` bytes read through `read_at`.
fn check_headers(
    size: u64,
    read_at: impl Fn(u64, &mut [u8]) -> std::io::Result<()>,
) -> Result<(), String> {
    let io = |e: std::io::Error| format!("failed to read its ELF headers: {e}");
    let mut ident = [0u8; 4];
    if size < 4 || read_at(0, &mut ident).is_err() || &ident != ELF_MAGIC {
        return Err("it is not an ELF file".into());
    }
    if size < EHDR_LEN {
        return Err(format!(
            "it is {size} bytes, shorter than the {EHDR_LEN}-byte ELF header: it is truncated"
        ));
    }
    let mut ehdr = [0u8; EHDR_LEN as usize];
    read_at(0, &mut ehdr).map_err(io)?;
    if ehdr[4] != 2 || !cfg!(target_pointer_width = "64") {
        return Err(format!("it is not a 64-bit ELF file (class {})", ehdr[4]));
    }
    if ehdr[5] != 1 || !cfg!(target_endian = "little") {
        return Err(format!(
            "it is not a little-endian ELF file (data encoding {})",
            ehdr[5]
        ));
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    let e_type = u16_at(&ehdr, 16);
    if e_type != ET_DYN {
        return Err(format!("it is not a shared library (ELF type {e_type})"));
    }
    let machine = u16_at(&ehdr, 18);
    if let Some(host) = HOST_MACHINE.filter(|&h| h != machine) {
        return Err(format!(
            "it is built for ELF machine {machine}, this host is machine {host}"
        ));
    }
    // Every range must end inside the file; `what` names it in the message.
    let inside = |what: &dyn Fn() -> String, offset: u64, len: Option<u64>| match len
        .and_then(|len| offset.checked_add(len))
    {
        Some(end) if end <= size => Ok(()),
        Some(end) => Err(format!(
            "{} ends at byte {end}, past the end of the {size}-byte file: it is truncated",
            what()
        )),
        None => Err(format!("{} has an impossible size: it is damaged", what())),
    };
    let table = |name: &str, offset: u64, count: u64, entry: u64, want: u64| {
        if count > 0 && entry != want {
            return Err(format!(
                "its {name} entries are {entry} bytes, not {want}: it is damaged"
            ));
        }
        // A real library has a few dozen sections; a count this large is a
        // damaged (or sparse, hostile) file, not worth an allocation.
        if count > MAX_TABLE_ENTRIES {
            return Err(format!(
                "its {name} table claims {count} entries, more than {MAX_TABLE_ENTRIES}: it is damaged"
            ));
        }
        let len = count.checked_mul(want);
        inside(
            &|| format!("its {name} table ({count} entries at byte {offset})"),
            offset,
            len,
        )?;
        let mut bytes = vec![0u8; (count * want) as usize];
        read_at(offset, &mut bytes).map_err(io)?;
        Ok(bytes)
    };

    let (phoff, phnum, phentsize) = (u64_at(&ehdr, 32), u16_at(&ehdr, 56), u16_at(&ehdr, 54));
    let phdrs = table(
        "program header",
        phoff,
        u64::from(phnum),
        u64::from(phentsize),
        PHDR_LEN,
    )?;
    for (i, ph) in phdrs.chunks_exact(PHDR_LEN as usize).enumerate() {
        if u32_at(ph, 0) == PT_LOAD {
            let (offset, filesz) = (u64_at(ph, 8), u64_at(ph, 32));
            inside(&|| format!("its loaded segment {i}"), offset, Some(filesz))?;
        }
    }

    let (shoff, shentsize) = (u64_at(&ehdr, 40), u16_at(&ehdr, 58));
    let mut shnum = u64::from(u16_at(&ehdr, 60));
    if shoff == 0 {
        return Ok(());
    }
    if shnum == 0 {
        // Extended numbering: the count is in the first section header's `sh_size`.
        let first = table("section header", shoff, 1, u64::from(shentsize), SHDR_LEN)?;
        shnum = u64_at(&first, 32);
    }
    let shdrs = table(
        "section header",
        shoff,
        shnum,
        u64::from(shentsize),
        SHDR_LEN,
    )?;
    for (i, sh) in shdrs.chunks_exact(SHDR_LEN as usize).enumerate() {
        if u32_at(sh, 4) != SHT_NOBITS {
            let (offset, len) = (u64_at(sh, 24), u64_at(sh, 32));
            inside(&|| format!("its section {i}"), offset, Some(len))?;
        }
    }
    Ok(())
}

/// The FFI view of `input`, borrowing it and its converted `hints`.
fn ffi_input<'a>(input: &'a AdapterInput, hints: &'a [FfiMetricHint]) -> FfiAdapterInput<'a> {
    FfiAdapterInput {
        stdout: input.stdout.as_str().into(),
        stderr: input.stderr.as_str().into(),
        exit_code: input.exit_code.into(),
        hints: RSlice::from_slice(hints),
    }
}

impl std::fmt::Debug for PluginAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginAdapter")
            .field("info", &self.info)
            .field("path", &self.path)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn layout_report_summary_names_the_mismatch() {
        let report = "Compared <this>:\n    AdapterMod\n1 error(s).\n\nError:mismatched package\nExpected:\n    ktstr-adapters\nFound:\n    other-crate\n";
        assert_eq!(
            summarize_layout_report(report),
            "mismatched package (expected `ktstr-adapters`, found `other-crate`)"
        );
        assert_eq!(
            summarize_layout_report("\n  something odd\n"),
            "something odd"
        );
    }

    /// A minimal shared library image: the ELF header, one program header loading the
    /// headers, 16 bytes of section contents, and a table of two section headers at the end.
    fn image() -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(ELF_MAGIC);
        b[4] = 2; // ELFCLASS64
        b[5] = 1; // ELFDATA2LSB
        b[6] = 1; // EV_CURRENT
        b[16..18].copy_from_slice(&ET_DYN.to_le_bytes());
        b[18..20].copy_from_slice(&HOST_MACHINE.unwrap_or(62).to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
        b[40..48].copy_from_slice(&(64u64 + 56 + 16).to_le_bytes()); // e_shoff
        b[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
        b[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
        b[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
        b[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
        b[60..62].copy_from_slice(&2u16.to_le_bytes()); // e_shnum
        let mut ph = vec![0u8; 56];
        ph[..4].copy_from_slice(&PT_LOAD.to_le_bytes());
        ph[32..40].copy_from_slice(&120u64.to_le_bytes()); // p_filesz: both headers
        b.extend(ph);
        b.extend([0xaa; 16]);
        b.extend([0u8; 64]); // SHN_UNDEF
        let mut sh = vec![0u8; 64];
        sh[4..8].copy_from_slice(&1u32.to_le_bytes()); // SHT_PROGBITS
        sh[24..32].copy_from_slice(&120u64.to_le_bytes());
        sh[32..40].copy_from_slice(&16u64.to_le_bytes());
        b.extend(sh);
        b
    }

    fn check(bytes: &[u8]) -> Result<(), String> {
        check_headers(bytes.len() as u64, |offset, buf| {
            let start = usize::try_from(offset).unwrap();
            buf.copy_from_slice(&bytes[start..start + buf.len()]);
            Ok(())
        })
    }

    #[test]
    fn a_whole_image_passes_and_every_truncation_is_named() {
        let image = image();
        assert_eq!(check(&image), Ok(()));
        for len in 0..image.len() {
            let reason = check(&image[..len]).unwrap_err();
            let expected = if len < 4 {
                "not an ELF file"
            } else {
                "it is truncated"
            };
            assert!(reason.contains(expected), "cut at {len}: {reason}");
        }
        assert_eq!(
            check(&image[..100]).unwrap_err(),
            "its program header table (1 entries at byte 64) ends at byte 120, \
             past the end of the 100-byte file: it is truncated"
        );
    }

    #[test]
    fn other_machines_and_damaged_headers_are_named() {
        let with = |at: usize, bytes: &[u8]| {
            let mut image = image();
            image[at..at + bytes.len()].copy_from_slice(bytes);
            check(&image).unwrap_err()
        };
        assert!(with(4, &[1]).contains("not a 64-bit ELF file"));
        assert!(with(5, &[2]).contains("not a little-endian ELF file"));
        assert!(with(16, &[2, 0]).contains("not a shared library (ELF type 2)"));
        assert!(with(18, &[3, 0]).contains("built for ELF machine 3"));
        assert!(with(32, &u64::MAX.to_le_bytes()).contains("impossible size"));
        assert!(with(54, &[55, 0]).contains("entries are 55 bytes, not 56"));
        assert!(with(60, &[0xff, 0xff]).contains("65535 entries"));
        assert!(with(64 + 8, &u64::MAX.to_le_bytes()).contains("its loaded segment 0"));
        assert!(with(64 + 32, &1000u64.to_le_bytes()).contains("its loaded segment 0"));
        assert!(with(200 + 32, &1000u64.to_le_bytes()).contains("its section 1 ends at byte 1120"));
        // Extended section numbering, with a count that overflows the table's size.
        let mut image = image();
        image[60..62].copy_from_slice(&[0, 0]);
        image[136 + 32..136 + 40].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        assert!(check(&image).unwrap_err().contains("more than 65535"));
        // A count a sparse file could back is refused before any allocation.
        image[136 + 32..136 + 40].copy_from_slice(&70_000u64.to_le_bytes());
        assert!(check(&image).unwrap_err().contains("claims 70000 entries"));
        image[136 + 32..136 + 40].copy_from_slice(&2u64.to_le_bytes());
        assert_eq!(check(&image), Ok(()));
    }

    #[test]
    fn random_damage_to_the_headers_is_an_error_or_harmless() {
        let mut rng = SmallRng::seed_from_u64(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let mut image = image();
            for _ in 0..1 + rng.gen::<u64>() % 6 {
                // Mostly the headers and tables; offsets past the identification bytes.
                let at = 6 + (rng.gen::<u64>() as usize % (image.len() - 6));
                image[at] = rng.gen::<u64>() as u8;
            }
            let cut = image.len() - (rng.gen::<u64>() as usize % 8);
            let _ = check(&image[..cut]);
            let _ = check(&image);
        }
        for _ in 0..2000 {
            let len = rng.gen::<u64>() as usize % 512;
            let bytes: Vec<u8> = (0..len).map(|_| rng.gen::<u64>() as u8).collect();
            assert!(check(&bytes).is_err());
        }
    }

    #[test]
    fn a_file_that_is_not_a_library_is_an_open_error() {
        let dir = std::env::temp_dir().join(format!("ktstr-adapters-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("libnot_a_plugin.so");
        std::fs::write(&file, b"not an ELF file").unwrap();
        let err = PluginAdapter::load(&file).unwrap_err();
        assert!(matches!(err, PluginLoadError::Open { .. }), "{err}");
        assert!(err.to_string().contains("libnot_a_plugin.so"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
