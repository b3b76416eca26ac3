//! The parsers of bytes from outside are total: ACPI tables read back from guest memory, newc
//! cpio archives, and the user binaries whose libraries the initramfs builder packs. Any
//! input gives a value or an error, never a panic; valid inputs still parse.

use ktstr_vmm::initramfs::{parse_newc, InitramfsBuilder, InitramfsError};
use ktstr_vmm::kvm::{parse_acpi, AcpiError, AcpiTables, ApicLayout, NodeMemory};
use proptest::prelude::*;
use proptest::sample::Index;

/// Guest address of the test tables (the legacy RSDP scan range).
const BASE: u64 = 0xe0000;

// ---------------------------------------------------------------------------------------------
// ACPI

fn acpi_tables(spec: &str) -> AcpiTables {
    let topo: ktstr_model::Topology = spec.parse().unwrap();
    let memory: Vec<NodeMemory> = (0..topo.numa_nodes)
        .map(|n| NodeMemory {
            node: n,
            base: u64::from(n) << 28,
            len: 1 << 28,
        })
        .collect();
    AcpiTables::build(&ApicLayout::new(&topo), &memory, BASE)
}

/// The byte that makes `bytes` sum to zero.
fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)))
}

/// Re-seals the checksum of the table at `at` over the length its header now claims (cut to
/// the blob), so damage reaches the parsers behind the checksum check.
fn reseal(blob: &mut [u8], at: usize) {
    let Some(len) = blob.get(at + 4..at + 8) else {
        return;
    };
    let len = u32::from_le_bytes(len.try_into().unwrap()) as usize;
    let end = at.saturating_add(len).min(blob.len());
    if end >= at + 10 {
        blob[at + 9] = 0;
        blob[at + 9] = checksum(&blob[at..end]);
    }
}

/// Re-seals the RSDP's two checksums.
fn reseal_rsdp(blob: &mut [u8]) {
    blob[8] = 0;
    blob[8] = checksum(&blob[..20]);
    blob[32] = 0;
    blob[32] = checksum(&blob[..36]);
}

/// A blob at [`BASE`] holding an RSDP, an XSDT listing `tables`, and the tables, each with a
/// valid header and checksum around the given body.
fn acpi_blob(tables: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let header = |sig: &[u8; 4], len: usize| {
        let mut h = sig.to_vec();
        h.extend((len as u32).to_le_bytes());
        h.extend([1, 0]); // revision, checksum
        h.extend(b"KTSTR KTSTRVMM\x01\0\0\0KTSR\x01\0\0\0");
        h
    };
    let xsdt_at = 48;
    let xsdt_len = 36 + 8 * tables.len();
    let mut blob = vec![0u8; xsdt_at];
    blob[..8].copy_from_slice(b"RSD PTR ");
    blob[15] = 2;
    blob[20..24].copy_from_slice(&36u32.to_le_bytes());
    blob[24..32].copy_from_slice(&(BASE + xsdt_at as u64).to_le_bytes());
    reseal_rsdp(&mut blob);
    blob.extend(header(b"XSDT", xsdt_len));
    let mut at = xsdt_at + xsdt_len;
    for (_, body) in tables {
        blob.extend((BASE + at as u64).to_le_bytes());
        at += 36 + body.len();
    }
    reseal(&mut blob, xsdt_at);
    for (sig, body) in tables {
        let start = blob.len();
        blob.extend(header(sig, 36 + body.len()));
        blob.extend(body);
        reseal(&mut blob, start);
    }
    blob
}

/// Signatures the parser reads, the DSDT it follows from the FADT, and one it skips.
fn signature() -> impl Strategy<Value = [u8; 4]> {
    prop::sample::select(vec![
        *b"FACP", *b"APIC", *b"SRAT", *b"SLIT", *b"DSDT", *b"SSDT",
    ])
}

#[test]
fn acpi_valid_tables_parse() {
    for spec in ["1,1,1,1", "1,2,2,2", "2,4,2,1", "1,5,5,5", "4,8,2,2"] {
        let t = acpi_tables(spec);
        let parsed = parse_acpi(t.bytes(), t.base(), t.rsdp_addr()).unwrap();
        assert_eq!(parsed.signatures, ["FACP", "APIC", "SRAT", "SLIT"]);
        let topo: ktstr_model::Topology = spec.parse().unwrap();
        assert_eq!(parsed.madt_cpus.len() as u32, topo.cpus());
    }
}

#[test]
fn acpi_every_truncation_is_an_error() {
    for spec in ["1,2,2,2", "1,5,5,5"] {
        let t = acpi_tables(spec);
        for len in 0..t.bytes().len() {
            let result = parse_acpi(&t.bytes()[..len], t.base(), t.rsdp_addr());
            assert!(result.is_err(), "{spec} cut at {len}: {result:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn acpi_random_bytes_are_an_error(
        mem in prop::collection::vec(any::<u8>(), 0..2048),
        base in any::<u64>(),
        rsdp in any::<Index>(),
    ) {
        let rsdp = base.wrapping_add(rsdp.index(mem.len() + 1) as u64);
        prop_assert!(parse_acpi(&mem, base, rsdp).is_err());
    }

    /// Bytes flipped anywhere in our own tables, with every checksum made to match again.
    #[test]
    fn acpi_damaged_tables_parse_or_err(
        spec in prop::sample::select(vec!["1,2,2,2", "2,2,1,1", "1,5,5,5"]),
        edits in prop::collection::vec((any::<Index>(), any::<u8>()), 1..8),
    ) {
        let t = acpi_tables(spec);
        let mut blob = t.bytes().to_vec();
        for (at, byte) in edits {
            let i = at.index(blob.len());
            blob[i] = byte;
        }
        for sig in t.signatures() {
            let at = t.table(&sig).unwrap().as_ptr() as usize - t.bytes().as_ptr() as usize;
            if sig != *b"RSD " {
                reseal(&mut blob, at);
            }
        }
        reseal_rsdp(&mut blob);
        let _ = parse_acpi(&blob, t.base(), t.rsdp_addr());
    }

    /// Tables with valid headers and checksums around arbitrary bodies: short fixed
    /// fields, entries of any type and length, any locality count, any DSDT address.
    #[test]
    fn acpi_arbitrary_table_bodies_parse_or_err(
        tables in prop::collection::vec(
            (signature(), prop::collection::vec(any::<u8>(), 0..320)),
            0..6,
        ),
    ) {
        let blob = acpi_blob(&tables);
        match parse_acpi(&blob, BASE, BASE) {
            Ok(parsed) => prop_assert!(parsed.signatures.len() <= tables.len()),
            Err(AcpiError::Rsdp(e)) => prop_assert!(false, "the RSDP is valid: {e}"),
            Err(_) => {}
        }
    }
}

#[test]
fn acpi_blob_helper_makes_valid_tables() {
    let slit = (*b"SLIT", vec![1, 0, 0, 0, 0, 0, 0, 0, 10]);
    let parsed = parse_acpi(&acpi_blob(&[slit]), BASE, BASE).unwrap();
    assert_eq!(parsed.slit, [[10]]);
}

// ---------------------------------------------------------------------------------------------
// cpio

fn archive() -> Vec<u8> {
    InitramfsBuilder::new()
        .file("/etc/ktstr/scenario.json", r#"{"seed":1}"#, 0o644)
        .file("/bin/empty", "", 0o755)
        .dir("/sys")
        .symlink("/bin/sh", "/init")
        .build()
        .unwrap()
}

#[test]
fn cpio_our_archive_parses_and_every_truncation_is_an_error() {
    let bytes = archive();
    let entries = parse_newc(&bytes).unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for name in ["etc/ktstr/scenario.json", "bin/empty", "sys", "bin/sh"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    for len in 0..bytes.len() {
        let err = parse_newc(&bytes[..len]).unwrap_err();
        assert!(
            matches!(err, InitramfsError::MalformedCpio { offset, .. } if offset <= len),
            "cut at {len}: {err:?}"
        );
    }
}

/// A newc header with the given fields as hex (namesize and filesize as the header says,
/// which need not match what follows).
fn newc_header(fields: &[u32; 13]) -> Vec<u8> {
    let mut h = b"070701".to_vec();
    for f in fields {
        h.extend(format!("{f:08X}").bytes());
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn cpio_random_bytes_are_an_error(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        prop_assert!(parse_newc(&bytes).is_err());
    }

    #[test]
    fn cpio_damaged_archive_parses_or_errs(
        edits in prop::collection::vec((any::<Index>(), any::<u8>()), 1..8),
        cut in any::<Index>(),
    ) {
        let mut bytes = archive();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = parse_newc(&bytes);
        let _ = parse_newc(&bytes[..cut.index(bytes.len())]);
    }

    /// Well-formed headers whose name and file sizes are arbitrary, up to `u32::MAX`,
    /// followed by arbitrary bytes: the length arithmetic sees every edge.
    #[test]
    fn cpio_headers_with_any_sizes_parse_or_err(
        entries in prop::collection::vec(
            (
                prop_oneof![0..40u32, any::<u32>()],
                prop_oneof![0..64u32, any::<u32>()],
                prop::collection::vec(any::<u8>(), 0..80),
            ),
            1..6,
        ),
    ) {
        let mut bytes = Vec::new();
        for (namesize, filesize, tail) in entries {
            let mut fields = [0u32; 13];
            fields[6] = filesize;
            fields[11] = namesize;
            bytes.extend(newc_header(&fields));
            bytes.extend(tail);
        }
        let _ = parse_newc(&bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// ELF: binaries handed to the initramfs builder

const TRUE: &str = "/bin/true";

/// Builds an initramfs holding `data` as a binary; the file is written to a temporary
/// directory, as a user's binary would be read from disk.
fn build_with_binary(data: &[u8]) -> Result<Vec<u8>, InitramfsError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payload");
    std::fs::write(&path, data).unwrap();
    InitramfsBuilder::new()
        .binary(&path, "/bin/payload")
        .build()
}

#[test]
fn elf_real_binary_is_packed_with_its_loader() {
    let archive = build_with_binary(&std::fs::read(TRUE).unwrap()).unwrap();
    let entries = parse_newc(&archive).unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert!(names.contains(&"bin/payload"), "{names:?}");
    assert!(names.contains(&"lib64/ld-linux-x86-64.so.2"), "{names:?}");
}

#[test]
fn elf_not_an_elf_is_a_typed_error() {
    for data in [&b""[..], b"\x7fELF", b"#!/bin/sh\necho hi\n"] {
        let err = build_with_binary(data).unwrap_err();
        assert!(matches!(err, InitramfsError::NotElf { .. }), "{err:?}");
        assert!(err.to_string().contains("is not an ELF binary"), "{err}");
    }
}

proptest! {
    // Each case writes a file and, when it still parses, packs the loader and libc.
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn elf_truncated_or_damaged_binary_builds_or_errs(
        // Half the cases keep the whole file, so damage short of the section headers at its
        // end gets past goblin into the library search.
        cut in prop::option::of(any::<Index>()),
        edits in prop::collection::vec((any::<Index>(), any::<u8>()), 0..8),
    ) {
        let mut data = std::fs::read(TRUE).unwrap();
        for (at, byte) in edits {
            let i = at.index(data.len());
            data[i] = byte;
        }
        if let Some(cut) = cut {
            data.truncate(cut.index(data.len()));
        }
        match build_with_binary(&data) {
            Ok(archive) => prop_assert!(parse_newc(&archive).is_ok()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
