//! A reader for the tables this module writes (and the same subset of any
//! ACPI 2.0+ firmware): RSDP → XSDT → FADT (→ DSDT), MADT, SRAT, SLIT, with
//! every checksum and length verified.
//!
//! The bytes are guest memory, so nothing in them is trusted: every read is
//! preceded by a length check, and any input gives a table or an [`AcpiError`].

use super::fadt::FADT_LEN;
use super::sdt::{checksum, Gas, HEADER_LEN};
use super::NodeMemory;

/// Why tables could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcpiError {
    /// The RSDP is missing or malformed.
    #[error("invalid RSDP: {0}")]
    Rsdp(String),
    /// A table lies outside the memory given.
    #[error("table at {addr:#x} ({len} bytes) lies outside the memory read")]
    OutOfRange {
        /// Guest address.
        addr: u64,
        /// Bytes needed.
        len: u64,
    },
    /// A table's bytes do not sum to zero.
    #[error("bad checksum in `{table}` at {addr:#x}")]
    Checksum {
        /// Signature.
        table: String,
        /// Guest address.
        addr: u64,
    },
    /// A table is shorter than the fields every table of its kind has.
    #[error("ACPI table `{table}` is {len} bytes, shorter than its {needed}-byte {part}")]
    TooShort {
        /// Signature.
        table: String,
        /// The table's length (its header's length field).
        len: u64,
        /// Bytes its kind needs.
        needed: u64,
        /// What those bytes are (`header`, `fixed fields`).
        part: &'static str,
    },
    /// A table's contents make no sense.
    #[error("malformed `{table}`: {reason}")]
    Malformed {
        /// Signature.
        table: String,
        /// What is wrong.
        reason: String,
    },
}

/// A CPU in the MADT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MadtCpu {
    /// ACPI processor UID.
    pub uid: u32,
    /// (x2)APIC ID.
    pub apic_id: u32,
    /// From a Local x2APIC entry rather than a Local APIC entry.
    pub x2apic: bool,
    /// The enabled flag.
    pub enabled: bool,
}

/// A CPU's node in the SRAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SratCpu {
    /// (x2)APIC ID.
    pub apic_id: u32,
    /// Proximity domain.
    pub node: u32,
}

/// What the tables say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedAcpi {
    /// Signatures the XSDT points at, in order.
    pub signatures: Vec<String>,
    /// FADT: the hardware-reduced flag.
    pub hw_reduced: bool,
    /// FADT: the sleep control register.
    pub sleep_control: Gas,
    /// FADT: the sleep status register.
    pub sleep_status: Gas,
    /// FADT: the reset register and value.
    pub reset: (Gas, u8),
    /// FADT: the DSDT's address.
    pub dsdt: u64,
    /// DSDT: the first element of `_S5_` (S5's `SLP_TYP`).
    pub s5_slp_typ: Option<u8>,
    /// MADT: the local APIC address.
    pub lapic_addr: u32,
    /// MADT: CPUs in table order.
    pub madt_cpus: Vec<MadtCpu>,
    /// MADT: IOAPICs as (ID, address, GSI base).
    pub ioapics: Vec<(u8, u32, u32)>,
    /// SRAT: CPU affinities in table order.
    pub srat_cpus: Vec<SratCpu>,
    /// SRAT: memory affinities in table order.
    pub srat_memory: Vec<NodeMemory>,
    /// SLIT: the distance matrix.
    pub slit: Vec<Vec<u8>>,
}

/// Reads the tables in `mem`, which holds guest memory from address `base`,
/// starting at the RSDP at `rsdp`.
///
/// # Errors
/// [`AcpiError`] for a missing, damaged or malformed table.
pub fn parse_acpi(mem: &[u8], base: u64, rsdp: u64) -> Result<ParsedAcpi, AcpiError> {
    let at = |addr: u64, len: u64| -> Result<&[u8], AcpiError> {
        let off = addr
            .checked_sub(base)
            .filter(|o| o.saturating_add(len) <= mem.len() as u64)
            .ok_or(AcpiError::OutOfRange { addr, len })?;
        Ok(&mem[off as usize..(off + len) as usize])
    };
    let r = at(rsdp, 36).map_err(|e| AcpiError::Rsdp(e.to_string()))?;
    if &r[..8] != b"RSD PTR " {
        return Err(AcpiError::Rsdp("no `RSD PTR ` signature".into()));
    }
    if r[15] < 2 {
        return Err(AcpiError::Rsdp(format!("revision {} has no XSDT", r[15])));
    }
    if checksum(&r[..20]) != 0 || checksum(r) != 0 {
        return Err(AcpiError::Rsdp("bad checksum".into()));
    }
    let table = |addr: u64| -> Result<(String, &[u8]), AcpiError> {
        let head = at(addr, HEADER_LEN as u64)?;
        let sig = String::from_utf8_lossy(&head[..4]).into_owned();
        let len = u32_at(head, 4);
        fixed(&sig, u64::from(len), HEADER_LEN, "header")?;
        let t = at(addr, u64::from(len))?;
        if checksum(t) != 0 {
            return Err(AcpiError::Checksum { table: sig, addr });
        }
        Ok((sig, t))
    };
    let (sig, xsdt) = table(u64_at(r, 24))?;
    if sig != "XSDT" {
        return Err(AcpiError::Rsdp(format!("points at `{sig}`, not an XSDT")));
    }
    let mut out = ParsedAcpi::default();
    for entry in xsdt[HEADER_LEN..].chunks_exact(8) {
        let (sig, t) = table(u64_at(entry, 0))?;
        // Each of these describes the whole machine: a second copy is an
        // error, not something to merge (and would multiply the work).
        if PARSED.contains(&sig.as_str()) && out.signatures.contains(&sig) {
            return Err(malformed("XSDT", format!("it lists `{sig}` twice")));
        }
        match sig.as_str() {
            "FACP" => {
                fadt(&mut out, t)?;
                let (dsig, d) = table(out.dsdt)?;
                if dsig != "DSDT" {
                    return Err(malformed("FACP", format!("X_DSDT points at `{dsig}`")));
                }
                out.s5_slp_typ = s5(&d[HEADER_LEN..]);
            }
            "APIC" => madt(&mut out, t)?,
            "SRAT" => srat(&mut out, t)?,
            "SLIT" => slit(&mut out, t)?,
            _ => {}
        }
        out.signatures.push(sig);
    }
    Ok(out)
}

/// The tables [`parse_acpi`] reads.
const PARSED: [&str; 4] = ["FACP", "APIC", "SRAT", "SLIT"];

/// Fails unless a table `sig` of `len` bytes holds its `needed`-byte `part`.
fn fixed(sig: &str, len: u64, needed: usize, part: &'static str) -> Result<(), AcpiError> {
    if len < needed as u64 {
        return Err(AcpiError::TooShort {
            table: sig.into(),
            len,
            needed: needed as u64,
            part,
        });
    }
    Ok(())
}

/// The body of table `t` after the header and its `extra` bytes of fixed
/// fields, or [`AcpiError::TooShort`].
fn body<'a>(sig: &str, t: &'a [u8], extra: usize) -> Result<&'a [u8], AcpiError> {
    fixed(sig, t.len() as u64, HEADER_LEN + extra, "fixed fields")?;
    Ok(&t[HEADER_LEN + extra..])
}

fn malformed(table: &str, reason: String) -> AcpiError {
    AcpiError::Malformed {
        table: table.into(),
        reason,
    }
}

/// The little-endian `u32` at `o`; callers have checked that `b` holds it.
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}

/// The little-endian `u64` at `o`; callers have checked that `b` holds it.
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}

fn fadt(out: &mut ParsedAcpi, t: &[u8]) -> Result<(), AcpiError> {
    fixed("FACP", t.len() as u64, FADT_LEN, "ACPI 6 layout")?;
    out.hw_reduced = u32_at(t, 112) & 1 << 20 != 0;
    out.reset = (Gas::read(&t[116..128]), t[128]);
    out.dsdt = match u64_at(t, 140) {
        0 => u64::from(u32_at(t, 40)),
        x => x,
    };
    out.sleep_control = Gas::read(&t[244..256]);
    out.sleep_status = Gas::read(&t[256..268]);
    Ok(())
}

/// Walks the type/length entries of a table body.
fn entries<'a>(
    sig: &'static str,
    mut body: &'a [u8],
    mut f: impl FnMut(u8, &'a [u8]),
) -> Result<(), AcpiError> {
    while !body.is_empty() {
        let len = *body.get(1).unwrap_or(&0) as usize;
        if len < 2 || len > body.len() {
            return Err(malformed(
                sig,
                format!("entry of type {} has length {len}", body[0]),
            ));
        }
        f(body[0], &body[..len]);
        body = &body[len..];
    }
    Ok(())
}

fn madt(out: &mut ParsedAcpi, t: &[u8]) -> Result<(), AcpiError> {
    // Local APIC address, flags.
    let body = body("APIC", t, 8)?;
    out.lapic_addr = u32_at(t, HEADER_LEN);
    entries("APIC", body, |kind, e| match (kind, e.len()) {
        (0, 8) => out.madt_cpus.push(MadtCpu {
            uid: u32::from(e[2]),
            apic_id: u32::from(e[3]),
            x2apic: false,
            enabled: u32_at(e, 4) & 1 != 0,
        }),
        (9, 16) => out.madt_cpus.push(MadtCpu {
            uid: u32_at(e, 12),
            apic_id: u32_at(e, 4),
            x2apic: true,
            enabled: u32_at(e, 8) & 1 != 0,
        }),
        (1, 12) => out.ioapics.push((e[2], u32_at(e, 4), u32_at(e, 8))),
        _ => {}
    })
}

fn srat(out: &mut ParsedAcpi, t: &[u8]) -> Result<(), AcpiError> {
    // Reserved: 4 + 8 bytes.
    entries("SRAT", body("SRAT", t, 12)?, |kind, e| {
        match (kind, e.len()) {
            (0, 16) => out.srat_cpus.push(SratCpu {
                apic_id: u32::from(e[3]),
                node: u32::from_le_bytes([e[2], e[9], e[10], e[11]]),
            }),
            (2, 24) => out.srat_cpus.push(SratCpu {
                apic_id: u32_at(e, 8),
                node: u32_at(e, 4),
            }),
            (1, 40) => out.srat_memory.push(NodeMemory {
                node: u32_at(e, 2),
                base: u64_at(e, 8),
                len: u64_at(e, 16),
            }),
            _ => {}
        }
    })
}

fn slit(out: &mut ParsedAcpi, t: &[u8]) -> Result<(), AcpiError> {
    // Number of localities, then the n×n matrix.
    let m = body("SLIT", t, 8)?;
    let localities = u64_at(t, HEADER_LEN);
    let n = usize::try_from(localities).unwrap_or(usize::MAX);
    if n.checked_mul(n) != Some(m.len()) {
        return Err(malformed(
            "SLIT",
            format!("{} bytes for {localities} localities", m.len()),
        ));
    }
    out.slit = m.chunks(n.max(1)).map(<[u8]>::to_vec).collect();
    Ok(())
}

/// The first element of `Name (_S5_, Package (...) { ... })` in `aml`.
fn s5(aml: &[u8]) -> Option<u8> {
    let at = aml.windows(5).position(|w| w == b"\x08_S5_")? + 5;
    let pkg = aml.get(at..)?;
    if pkg.first() != Some(&0x12) {
        return None;
    }
    // PackageOp, one-byte PkgLength, NumElements, then the first element.
    match pkg.get(3..)? {
        [0x0a, v, ..] => Some(*v),
        [0x00, ..] => Some(0),
        [0x01, ..] => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::rsdp;
    use super::super::sdt::Sdt;
    use super::*;

    /// Sets the checksum byte of the table `t` so its bytes sum to zero.
    fn seal(t: &mut [u8]) {
        t[9] = 0;
        t[9] = checksum(t);
    }

    /// A blob at guest address 0: the RSDP, an XSDT listing `tables`, then them.
    fn blob(tables: &[Vec<u8>]) -> Vec<u8> {
        let mut xsdt = Sdt::new(b"XSDT", 1);
        let mut at = (36 + HEADER_LEN + 8 * tables.len()) as u64;
        for t in tables {
            xsdt.u64(at);
            at += t.len() as u64;
        }
        let mut b = rsdp(36).to_vec();
        b.extend(xsdt.finish());
        tables.iter().for_each(|t| b.extend(t));
        b
    }

    fn table(sig: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut t = Sdt::new(sig, 1);
        t.bytes(body);
        t.finish()
    }

    #[test]
    fn tables_shorter_than_their_fixed_fields_are_errors() {
        let kinds = [
            (b"APIC", 8, "fixed fields"),
            (b"SRAT", 12, "fixed fields"),
            (b"SLIT", 8, "fixed fields"),
        ];
        for (sig, extra, part) in kinds.into_iter().chain([(b"FACP", 240, "ACPI 6 layout")]) {
            for body in 0..extra {
                let err = parse_acpi(&blob(&[table(sig, &vec![0; body])]), 0, 0).unwrap_err();
                let table = String::from_utf8_lossy(sig).into_owned();
                let len = (HEADER_LEN + body) as u64;
                let needed = (HEADER_LEN + extra) as u64;
                assert_eq!(
                    err,
                    AcpiError::TooShort {
                        table,
                        len,
                        needed,
                        part
                    }
                );
            }
        }
    }

    #[test]
    fn a_length_field_shorter_than_the_header_is_named() {
        let mut t = table(b"SRAT", &[0; 12]);
        t[4..8].copy_from_slice(&20u32.to_le_bytes());
        seal(&mut t);
        let err = parse_acpi(&blob(&[t]), 0, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ACPI table `SRAT` is 20 bytes, shorter than its 36-byte header"
        );
    }

    #[test]
    fn slit_locality_count_that_overflows_is_an_error() {
        // 2^32 localities: n * n wraps to 0 in 64 bits, matching the empty matrix.
        let err = parse_acpi(&blob(&[table(b"SLIT", &(1u64 << 32).to_le_bytes())]), 0, 0);
        assert_eq!(
            err.unwrap_err().to_string(),
            "malformed `SLIT`: 0 bytes for 4294967296 localities"
        );
        let err = parse_acpi(&blob(&[table(b"SLIT", &u64::MAX.to_le_bytes())]), 0, 0);
        assert!(matches!(err, Err(AcpiError::Malformed { .. })), "{err:?}");
    }

    #[test]
    fn a_table_listed_twice_is_an_error() {
        let slit = table(b"SLIT", &[1, 0, 0, 0, 0, 0, 0, 0, 10]);
        let parsed = parse_acpi(&blob(std::slice::from_ref(&slit)), 0, 0).unwrap();
        assert_eq!(parsed.slit, [[10]]);
        let err = parse_acpi(&blob(&[slit.clone(), slit]), 0, 0).unwrap_err();
        assert_eq!(err.to_string(), "malformed `XSDT`: it lists `SLIT` twice");
        // Tables this parser does not read may repeat, as SSDTs do.
        let ssdt = table(b"SSDT", &[]);
        assert!(parse_acpi(&blob(&[ssdt.clone(), ssdt]), 0, 0).is_ok());
    }
}
