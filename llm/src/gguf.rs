//! A walk over a GGUF model file's header, before llama.cpp sees the file:
//! a truncated or damaged model is refused with a precise reason instead of
//! whatever llama.cpp (in this process) makes of it.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek};
use std::path::Path;

use crate::ModelLoadError;

/// Checks that `path` is a whole GGUF file before llama.cpp sees it: the magic, a version
/// llama.cpp reads, every metadata value and tensor description inside the file, and the data
/// of every tensor (of a type whose size is known here) inside the file. Reads the header
/// only (about 2 MB of a 98 MB model), so a truncated or damaged file gets a precise
/// message instead of whatever llama.cpp makes of it.
pub(crate) fn check_gguf(path: &Path) -> Result<(), ModelLoadError> {
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => ModelLoadError::NotFound {
            path: path.to_owned(),
        },
        _ => ModelLoadError::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    };
    let file = File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    walk_gguf(BufReader::new(file), size).map_err(|e| match e {
        GgufError::Io(e) => io(e),
        GgufError::Corrupt(reason) => ModelLoadError::Corrupt {
            path: path.to_owned(),
            reason,
        },
    })
}

/// Why [`walk_gguf`] stopped.
#[derive(Debug)]
enum GgufError {
    /// Reading failed.
    Io(std::io::Error),
    /// The bytes are not a whole GGUF file; the reason reads after "is not a loadable GGUF
    /// model: ".
    Corrupt(String),
}

impl From<std::io::Error> for GgufError {
    fn from(e: std::io::Error) -> Self {
        GgufError::Io(e)
    }
}

/// Magic, version, tensor count, metadata count.
const GGUF_HEADER_LEN: u64 = 24;
/// llama.cpp's limits on one string and on one array (`GGUF_MAX_*` in gguf.cpp).
const GGUF_MAX_LEN: u64 = 1 << 30;
/// Bytes of a tensor name, terminating NUL included (`GGML_MAX_NAME`).
const GGML_MAX_NAME: u64 = 64;
/// Dimensions of a tensor (`GGML_MAX_DIMS`).
const GGML_MAX_DIMS: u32 = 4;
/// Metadata value types (`enum gguf_type`).
const GGUF_TYPE_STRING: u32 = 8;
const GGUF_TYPE_ARRAY: u32 = 9;
const GGUF_TYPE_UINT32: u32 = 4;

/// Bytes of one metadata value of scalar type `t`, `None` for a string, array or unknown type.
fn scalar_size(t: u32) -> Option<u64> {
    match t {
        0 | 1 | 7 => Some(1), // u8, i8, bool
        2 | 3 => Some(2),     // u16, i16
        4..=6 => Some(4),     // u32, i32, f32
        10..=12 => Some(8),   // u64, i64, f64
        _ => None,
    }
}

/// Elements per block and bytes per block of the ggml tensor types whose layout is fixed in
/// the GGUF format; other types are left to llama.cpp.
fn ggml_block(t: u32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (1, 4),       // F32
        1 | 30 => (1, 2),  // F16, BF16
        2 => (32, 18),     // Q4_0
        3 => (32, 20),     // Q4_1
        6 => (32, 22),     // Q5_0
        7 => (32, 24),     // Q5_1
        8 => (32, 34),     // Q8_0
        9 => (32, 36),     // Q8_1
        10 => (256, 84),   // Q2_K
        11 => (256, 110),  // Q3_K
        12 => (256, 144),  // Q4_K
        13 => (256, 176),  // Q5_K
        14 => (256, 210),  // Q6_K
        15 => (256, 292),  // Q8_K
        24 => (1, 1),      // I8
        25 => (1, 2),      // I16
        26 => (1, 4),      // I32
        27 | 28 => (1, 8), // I64, F64
        _ => return None,
    })
}

/// A reader that knows the file's size and refuses to read past it.
struct Gguf<R> {
    inner: R,
    pos: u64,
    size: u64,
}

impl<R: BufRead + Seek> Gguf<R> {
    /// Fails unless `n` more bytes, of the part `what` names, are in the file.
    fn need(&self, n: u64, what: &dyn Fn() -> String) -> Result<(), GgufError> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.size => Ok(()),
            Some(end) => Err(GgufError::Corrupt(format!(
                "{} ends at byte {end}, past the end of the {}-byte file: it is truncated",
                what(),
                self.size
            ))),
            None => Err(GgufError::Corrupt(format!(
                "{} has an impossible size ({n} bytes)",
                what()
            ))),
        }
    }

    fn bytes<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N], GgufError> {
        self.need(N as u64, what)?;
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b)?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32, GgufError> {
        self.bytes(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64, GgufError> {
        self.bytes(what).map(u64::from_le_bytes)
    }

    fn skip(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<(), GgufError> {
        self.need(n, what)?;
        // `need` bounds `n` by the file's size.
        self.inner.seek_relative(n as i64)?;
        self.pos += n;
        Ok(())
    }

    /// A string: its bytes when at most `keep` long, else skipped (`None`).
    fn string(
        &mut self,
        keep: u64,
        what: &dyn Fn() -> String,
    ) -> Result<Option<Vec<u8>>, GgufError> {
        let len = self.u64(what)?;
        if len > GGUF_MAX_LEN {
            return Err(GgufError::Corrupt(format!(
                "{} is {len} bytes long, more than llama.cpp's limit of {GGUF_MAX_LEN}",
                what()
            )));
        }
        if len > keep {
            self.skip(len, what)?;
            return Ok(None);
        }
        self.need(len, what)?;
        let mut b = vec![0u8; len as usize];
        self.inner.read_exact(&mut b)?;
        self.pos += len;
        Ok(Some(b))
    }
}

/// Walks the GGUF header of a file of `size` bytes read through `inner`, see [`check_gguf`].
fn walk_gguf(inner: impl BufRead + Seek, size: u64) -> Result<(), GgufError> {
    let corrupt = |reason: String| Err(GgufError::Corrupt(reason));
    let mut r = Gguf {
        inner,
        pos: 0,
        size,
    };
    if size < 4 {
        return corrupt("it is shorter than a GGUF header".into());
    }
    if &r.bytes::<4>(&|| "the magic".into())? != b"GGUF" {
        return corrupt("it does not start with the GGUF magic".into());
    }
    if size < GGUF_HEADER_LEN {
        return corrupt(format!(
            "it is {size} bytes, shorter than the {GGUF_HEADER_LEN}-byte GGUF header: \
             it is truncated"
        ));
    }
    let version = r.u32(&|| "the version".into())?;
    if !(2..=3).contains(&version) {
        return corrupt(format!(
            "it is GGUF version {version}; llama.cpp reads versions 2 and 3"
        ));
    }
    let tensors = r.u64(&|| "the tensor count".into())?;
    let kvs = r.u64(&|| "the metadata count".into())?;
    if i64::try_from(tensors).is_err() || i64::try_from(kvs).is_err() {
        return corrupt(format!(
            "its counts of tensors ({tensors}) and metadata ({kvs}) are impossible"
        ));
    }

    let mut alignment = 32u64;
    for i in 0..kvs {
        let key = r.string(256, &|| format!("the key of metadata entry {i}"))?;
        let key = match &key {
            Some(k) if k.is_empty() => return corrupt(format!("metadata entry {i} has no key")),
            Some(k) => String::from_utf8_lossy(k).into_owned(),
            None => format!("entry {i}"),
        };
        let what = || format!("metadata `{key}`");
        let kind = r.u32(&what)?;
        if key == "general.alignment" {
            if kind != GGUF_TYPE_UINT32 {
                return corrupt(format!("metadata `{key}` is of type {kind}, not u32"));
            }
            alignment = u64::from(r.u32(&what)?);
            if !alignment.is_power_of_two() {
                return corrupt(format!("its alignment {alignment} is not a power of 2"));
            }
            continue;
        }
        let (kind, count) = match kind {
            GGUF_TYPE_ARRAY => {
                let element = r.u32(&what)?;
                let count = r.u64(&what)?;
                if count > GGUF_MAX_LEN {
                    return corrupt(format!(
                        "metadata `{key}` has {count} elements, more than llama.cpp's limit \
                         of {GGUF_MAX_LEN}"
                    ));
                }
                (element, count)
            }
            kind => (kind, 1),
        };
        match (kind, scalar_size(kind)) {
            (_, Some(bytes)) => r.skip(count * bytes, &what)?,
            (GGUF_TYPE_STRING, None) => {
                for j in 0..count {
                    r.string(0, &|| format!("element {j} of metadata `{key}`"))?;
                }
            }
            (kind, None) => {
                return corrupt(format!("metadata `{key}` has the unknown type {kind}"))
            }
        }
    }

    // Tensor descriptions; each data range is checked once the data's start is known.
    let mut ranges = Vec::new();
    for i in 0..tensors {
        let name = r.string(GGML_MAX_NAME - 1, &|| format!("the name of tensor {i}"))?;
        let Some(name) = name.map(|n| String::from_utf8_lossy(&n).into_owned()) else {
            return corrupt(format!(
                "the name of tensor {i} is {GGML_MAX_NAME} bytes or more"
            ));
        };
        let what = || format!("tensor `{name}`");
        let dims = r.u32(&what)?;
        if dims > GGML_MAX_DIMS {
            return corrupt(format!(
                "tensor `{name}` has {dims} dimensions, more than {GGML_MAX_DIMS}"
            ));
        }
        let mut shape = [1u64; GGML_MAX_DIMS as usize];
        for d in shape.iter_mut().take(dims as usize) {
            *d = r.u64(&what)?;
        }
        // llama.cpp holds dimensions and the element count in `int64_t`.
        let fits = |n: u64| i64::try_from(n).is_ok();
        let elements = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
        if !shape.iter().all(|&d| fits(d)) || !elements.is_some_and(fits) {
            return corrupt(format!("tensor `{name}` has an impossible shape {shape:?}"));
        }
        let kind = r.u32(&what)?;
        let offset = r.u64(&what)?;
        let bytes = match ggml_block(kind) {
            Some((block, _)) if shape[0] % block != 0 => {
                return corrupt(format!(
                    "tensor `{name}` has rows of {} elements, not a multiple of its type's \
                     block of {block}",
                    shape[0]
                ))
            }
            Some((block, block_bytes)) => shape[1..]
                .iter()
                .try_fold(shape[0] / block, |n, &d| n.checked_mul(d))
                .and_then(|blocks| blocks.checked_mul(block_bytes)),
            // A type this check does not know: llama.cpp checks its size.
            None => Some(0),
        };
        ranges.push((name, offset, bytes));
    }
    if tensors == 0 {
        return Ok(());
    }
    // Nothing more is read: each tensor's data range is compared with the file's size.
    let data = r.pos.next_multiple_of(alignment);
    for (name, offset, bytes) in ranges {
        r.pos = data;
        let what = || format!("the data of tensor `{name}`");
        r.need(offset, &what)?;
        r.pos += offset;
        match bytes {
            Some(bytes) => r.need(bytes, &what)?,
            None => return corrupt(format!("{} has an impossible size", what())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use std::io::Cursor;

    /// A small GGUF file: three metadata entries (a string, the alignment, a string array),
    /// an F32 vector and a Q4_0 matrix with their data.
    fn fake_gguf() -> Vec<u8> {
        fn string(b: &mut Vec<u8>, s: &str) {
            b.extend((s.len() as u64).to_le_bytes());
            b.extend(s.as_bytes());
        }
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(2u64.to_le_bytes()); // tensors
        b.extend(3u64.to_le_bytes()); // metadata
        string(&mut b, "general.architecture");
        b.extend(GGUF_TYPE_STRING.to_le_bytes());
        string(&mut b, "llama");
        string(&mut b, "general.alignment");
        b.extend(GGUF_TYPE_UINT32.to_le_bytes());
        b.extend(32u32.to_le_bytes());
        string(&mut b, "tokenizer.ggml.tokens");
        b.extend(GGUF_TYPE_ARRAY.to_le_bytes());
        b.extend(GGUF_TYPE_STRING.to_le_bytes());
        b.extend(2u64.to_le_bytes());
        string(&mut b, "a");
        string(&mut b, "bc");
        // F32 [4]: 16 bytes at 0; Q4_0 [32, 2]: 2 blocks of 18 bytes at 32.
        for (name, dims, kind, offset) in [
            ("norm.weight", &[4u64][..], 0u32, 0u64),
            ("blk.0.attn_q.weight", &[32, 2], 2, 32),
        ] {
            string(&mut b, name);
            b.extend((dims.len() as u32).to_le_bytes());
            dims.iter().for_each(|d| b.extend(d.to_le_bytes()));
            b.extend(kind.to_le_bytes());
            b.extend(offset.to_le_bytes());
        }
        b.resize(b.len().next_multiple_of(32), 0);
        b.extend([0x11; 16]);
        b.extend([0; 16]);
        b.extend([0x22; 36]);
        b
    }

    fn walk(bytes: &[u8]) -> Result<(), String> {
        walk_gguf(Cursor::new(bytes), bytes.len() as u64).map_err(|e| match e {
            GgufError::Corrupt(reason) => reason,
            GgufError::Io(e) => panic!("reading a buffer failed: {e}"),
        })
    }

    #[test]
    fn a_whole_file_passes_and_every_truncation_is_named() {
        let gguf = fake_gguf();
        assert_eq!(walk(&gguf), Ok(()));
        for len in 0..gguf.len() {
            let reason = walk(&gguf[..len]).unwrap_err();
            let expected = if len < 4 {
                "shorter than a GGUF header"
            } else {
                "it is truncated"
            };
            assert!(reason.contains(expected), "cut at {len}: {reason}");
        }
        assert_eq!(
            walk(&gguf[..gguf.len() - 1]).unwrap_err(),
            format!(
                "the data of tensor `blk.0.attn_q.weight` ends at byte {}, past the end of the \
                 {}-byte file: it is truncated",
                gguf.len(),
                gguf.len() - 1
            )
        );
    }

    #[test]
    fn damaged_fields_are_named() {
        let with = |at: usize, bytes: &[u8]| {
            let mut gguf = fake_gguf();
            gguf[at..at + bytes.len()].copy_from_slice(bytes);
            walk(&gguf).unwrap_err()
        };
        assert_eq!(with(0, b"GGML"), "it does not start with the GGUF magic");
        assert_eq!(
            with(4, &[1]),
            "it is GGUF version 1; llama.cpp reads versions 2 and 3"
        );
        assert!(with(8, &[0, 0, 0, 0, 0, 0, 0, 0x80]).contains("impossible"));
        // The first key's length, the first value's type.
        assert!(with(24, &[0xff; 8]).contains("more than llama.cpp's limit"));
        assert!(with(24, &[0; 8]).contains("metadata entry 0 has no key"));
        assert!(with(24 + 28, &[13]).contains("unknown type 13"));
        let alignment = 24 + 28 + 4 + 13 + 8 + 17 + 4;
        assert!(with(alignment, &[24]).contains("alignment 24 is not a power of 2"));
        assert!(with(alignment - 4, &[5]).contains("is of type 5, not u32"));
        let tokens = alignment + 4 + 8 + 21 + 4 + 4;
        assert!(with(tokens, &[0xff; 8]).contains("has 18446744073709551615 elements"));
        assert!(with(tokens + 8, &[0xff, 0xff, 0xff, 0x0f]).contains("element 0 of metadata"));
        let norm = tokens + 8 + 9 + 10;
        assert!(with(norm, &[64]).contains("the name of tensor 0 is 64 bytes or more"));
        assert!(with(norm + 8 + 11, &[5]).contains("has 5 dimensions"));
        assert!(with(norm + 8 + 11 + 4, &[0xff; 8]).contains("impossible shape"));
        // 2^62 F32 elements: a valid shape whose size in bytes overflows.
        let huge = (1u64 << 62).to_le_bytes();
        assert!(with(norm + 8 + 11 + 4, &huge).contains("has an impossible size"));
        assert!(with(norm + 8 + 11 + 4 + 8 + 4, &[0xff; 8]).contains("the data of tensor"));
        let q = norm + 8 + 11 + 4 + 8 + 4 + 8;
        assert!(with(q + 8 + 19 + 4, &[31]).contains("not a multiple of its type's block of 32"));
        // A type this check does not know is left to llama.cpp, its offset still checked.
        let mut gguf = fake_gguf();
        gguf[q + 8 + 19 + 4 + 16] = 99;
        assert_eq!(walk(&gguf), Ok(()));
    }

    #[test]
    fn random_damage_is_an_error_or_harmless() {
        let mut rng = SmallRng::seed_from_u64(0x9e37_79b9_7f4a_7c15);
        let gguf = fake_gguf();
        for _ in 0..100_000 {
            let mut damaged = gguf.clone();
            for _ in 0..1 + rng.gen::<u64>() % 6 {
                let at = rng.gen::<u64>() as usize % damaged.len();
                damaged[at] = match rng.gen::<u64>() % 3 {
                    0 => 0xff,
                    1 => 0,
                    _ => rng.gen::<u64>() as u8,
                };
            }
            let cut = damaged.len() - (rng.gen::<u64>() as usize % 16);
            let _ = walk(&damaged[..cut]);
            let _ = walk(&damaged);
        }
        for _ in 0..2000 {
            let len = rng.gen::<u64>() as usize % 512;
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen::<u64>() as u8).collect();
            if len >= 8 {
                bytes[..8].copy_from_slice(b"GGUF\x03\0\0\0");
            }
            let _ = walk(&bytes);
        }
    }
}
