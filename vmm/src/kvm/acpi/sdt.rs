//! What every ACPI table shares: the 36-byte header, checksums, the Generic
//! Address Structure.

/// OEM ID in every header.
pub(crate) const OEM_ID: &[u8; 6] = b"KTSTR ";
/// OEM table ID in every header.
pub(crate) const OEM_TABLE_ID: &[u8; 8] = b"KTSTRVMM";
/// Creator ID in every header.
pub(crate) const CREATOR_ID: &[u8; 4] = b"KTSR";
/// Length of a system description table header.
pub(crate) const HEADER_LEN: usize = 36;

/// The byte that makes `bytes` sum to zero when stored in it.
pub(crate) fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)))
}

/// A table under construction: header first, body appended, length and
/// checksum fixed by [`Sdt::finish`].
pub(crate) struct Sdt(Vec<u8>);

impl Sdt {
    pub(crate) fn new(signature: &[u8; 4], revision: u8) -> Self {
        let mut b = Vec::with_capacity(256);
        b.extend_from_slice(signature);
        b.extend_from_slice(&[0; 4]); // length
        b.push(revision);
        b.push(0); // checksum
        b.extend_from_slice(OEM_ID);
        b.extend_from_slice(OEM_TABLE_ID);
        b.extend_from_slice(&1u32.to_le_bytes()); // OEM revision
        b.extend_from_slice(CREATOR_ID);
        b.extend_from_slice(&1u32.to_le_bytes()); // creator revision
        Sdt(b)
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Sets the length and the checksum.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[4..8].copy_from_slice(&len.to_le_bytes());
        self.0[9] = 0;
        self.0[9] = checksum(&self.0);
        self.0
    }
}

/// ACPI Generic Address Structure (12 bytes): an I/O port register here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gas {
    /// Address space: 0 memory, 1 system I/O.
    pub space: u8,
    /// Register width in bits.
    pub bit_width: u8,
    /// Bit offset of the register.
    pub bit_offset: u8,
    /// Access size: 1 byte, 2 word, 3 dword, 4 qword.
    pub access_size: u8,
    /// Port or physical address.
    pub address: u64,
}

impl Gas {
    /// A one-byte I/O port register.
    pub(crate) fn io_byte(port: u16) -> Self {
        Gas {
            space: 1,
            bit_width: 8,
            bit_offset: 0,
            access_size: 1,
            address: u64::from(port),
        }
    }

    pub(crate) fn write(&self, t: &mut Sdt) {
        t.u8(self.space)
            .u8(self.bit_width)
            .u8(self.bit_offset)
            .u8(self.access_size)
            .u64(self.address);
    }

    pub(crate) fn read(b: &[u8]) -> Self {
        Gas {
            space: b[0],
            bit_width: b[1],
            bit_offset: b[2],
            access_size: b[3],
            address: u64::from_le_bytes(b[4..12].try_into().expect("12-byte GAS")),
        }
    }
}
