//! The shared-memory ring; its layout is described in the crate docs.

use std::fmt;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use crate::WireError;

/// `b"KTSTRING"` as a little-endian `u64`: marks an initialised ring.
pub const RING_MAGIC: u64 = u64::from_le_bytes(*b"KTSTRING");

/// Layout version in the header; bumped on any incompatible change.
pub const RING_VERSION: u32 = 1;

/// Size of the header in front of the data area.
pub const RING_HEADER_LEN: usize = 64;

/// Region length needed for a ring with `capacity` data bytes.
pub fn ring_len_for(capacity: u32) -> usize {
    RING_HEADER_LEN + capacity as usize
}

/// The header, as atomics: the peer writes its fields concurrently, so they
/// are only ever read and written atomically.
#[repr(C)]
struct Header {
    magic: AtomicU64,
    version: AtomicU32,
    capacity: AtomicU32,
    write_pos: AtomicU64,
    read_pos: AtomicU64,
    dropped_frames: AtomicU64,
    dropped_bytes: AtomicU64,
    reserved: [AtomicU64; 2],
}

const _: () = assert!(size_of::<Header>() == RING_HEADER_LEN);

/// The mapped region, as one side sees it.
struct Shared {
    header: *const Header,
    data: *mut u8,
    capacity: u32,
    /// Keeps an [`in_memory_ring`] buffer alive; `None` for foreign memory.
    _owner: Option<Arc<[AtomicU64]>>,
}

// SAFETY: the pointers refer to memory shared with another thread, process or
// VM by design. The header is accessed only through atomics, and the data area
// only under the single-producer/single-consumer protocol, which orders every
// access with Release/Acquire on the positions regardless of thread.
unsafe impl Send for Shared {}

impl Shared {
    /// # Safety
    ///
    /// As [`RingWriter::init`]; `ptr` must also be aligned for `Header`, `len`
    /// at least `ring_len_for(capacity)`.
    unsafe fn new(ptr: *mut u8, capacity: u32) -> Self {
        Self {
            header: ptr.cast::<Header>(),
            // SAFETY: the caller guarantees the region holds the header, so
            // the data area starts inside it or one past its end.
            data: unsafe { ptr.add(RING_HEADER_LEN) },
            capacity,
            _owner: None,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: init/attach checked that the pointer is aligned and the
        // region holds a header, and their callers promised it stays valid
        // for as long as this side exists. Every field is an atomic, so a
        // shared reference is sound while the peer writes through its own.
        unsafe { &*self.header }
    }

    /// Copies `bytes` into the ring at stream position `pos`, wrapping.
    ///
    /// # Safety
    ///
    /// The producer must own `[pos, pos + bytes.len())`: that span is
    /// committed by neither side and at most `capacity` long.
    unsafe fn copy_in(&self, pos: u64, bytes: &[u8]) {
        let offset = (pos % u64::from(self.capacity)) as usize;
        let first = bytes.len().min(self.capacity as usize - offset);
        // SAFETY: `offset + first <= capacity`, so the destination lies in the
        // data area, which init checked fits the region. The caller gives the
        // producer this span exclusively, so nothing reads it meanwhile.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), self.data.add(offset), first) };
        // SAFETY: the rest wraps to the start of the data area and is shorter
        // than `capacity - first`, because the whole span is at most
        // `capacity`; exclusivity as above.
        unsafe {
            ptr::copy_nonoverlapping(bytes[first..].as_ptr(), self.data, bytes.len() - first)
        };
    }

    /// Appends `n` bytes from stream position `pos` to `out`, wrapping.
    ///
    /// # Safety
    ///
    /// The consumer must own `[pos, pos + n)`: committed by the producer and
    /// not yet released, so at most `capacity` long.
    unsafe fn copy_out(&self, pos: u64, n: usize, out: &mut Vec<u8>) {
        let offset = (pos % u64::from(self.capacity)) as usize;
        let first = n.min(self.capacity as usize - offset);
        let start = out.len();
        out.resize(start + n, 0);
        let dst = &mut out[start..];
        // SAFETY: the source lies in the data area as in `copy_in`, and the
        // producer does not write a committed span until it is released. A
        // misbehaving guest could still change these bytes under us; `u8`
        // has no invalid values and the frame CRC rejects the result.
        unsafe { ptr::copy_nonoverlapping(self.data.add(offset), dst.as_mut_ptr(), first) };
        // SAFETY: the wrapped remainder starts at the data area and is at most
        // `capacity - first` bytes; `dst` has `n - first` bytes left.
        unsafe { ptr::copy_nonoverlapping(self.data, dst[first..].as_mut_ptr(), n - first) };
    }
}

/// Checks what both sides need before touching a header: alignment for the
/// atomics, and room for the header plus at least one data byte.
fn check_region(ptr: *const u8, len: usize) -> Result<(), WireError> {
    if !ptr.cast::<Header>().is_aligned() {
        return Err(WireError::RingMisaligned { addr: ptr as usize });
    }
    if len <= RING_HEADER_LEN {
        return Err(WireError::RingSize { len });
    }
    Ok(())
}

/// The guest's end: puts whole frames into the ring, never waiting.
pub struct RingWriter {
    shared: Shared,
    /// Our copy of `write_pos`: we are its only writer.
    write_pos: u64,
}

impl RingWriter {
    /// Initialises a ring over `len` bytes at `ptr`: writes the header with
    /// zero positions and counters, the magic last, so a host that sees the
    /// magic sees the rest. The capacity is `len - RING_HEADER_LEN`.
    ///
    /// # Errors
    ///
    /// [`WireError::RingMisaligned`] unless `ptr` is 8-byte aligned;
    /// [`WireError::RingSize`] unless the capacity is 1 to `u32::MAX`.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes of `len` bytes for as long as
    /// the writer lives, and touched by nothing else but one [`RingReader`].
    pub unsafe fn init(ptr: *mut u8, len: usize) -> Result<RingWriter, WireError> {
        check_region(ptr, len)?;
        let capacity =
            u32::try_from(len - RING_HEADER_LEN).map_err(|_| WireError::RingSize { len })?;
        // SAFETY: checked above; validity is the caller's promise.
        let shared = unsafe { Shared::new(ptr, capacity) };
        let h = shared.header();
        // Hide a previous ring's magic while its other fields are rewritten.
        h.magic.store(0, Ordering::Relaxed);
        h.version.store(RING_VERSION, Ordering::Relaxed);
        h.capacity.store(capacity, Ordering::Relaxed);
        for field in [
            &h.write_pos,
            &h.read_pos,
            &h.dropped_frames,
            &h.dropped_bytes,
        ] {
            field.store(0, Ordering::Relaxed);
        }
        for field in &h.reserved {
            field.store(0, Ordering::Relaxed);
        }
        h.magic.store(RING_MAGIC, Ordering::Release);
        Ok(RingWriter {
            shared,
            write_pos: 0,
        })
    }

    /// Commits `frame` whole, or drops it and counts the drop if the free
    /// space is smaller. Returns whether it was committed.
    pub fn write_frame(&mut self, frame: &[u8]) -> bool {
        let h = self.shared.header();
        let len = frame.len() as u64;
        if len > self.free() {
            h.dropped_frames.fetch_add(1, Ordering::Relaxed);
            h.dropped_bytes.fetch_add(len, Ordering::Relaxed);
            return false;
        }
        // SAFETY: `[write_pos, write_pos + len)` fits the free space, which
        // the reader has released and will not read before we publish it.
        unsafe { self.shared.copy_in(self.write_pos, frame) };
        self.write_pos = self.write_pos.wrapping_add(len);
        // Release: the bytes are visible before the position that covers them.
        h.write_pos.store(self.write_pos, Ordering::Release);
        true
    }

    /// Bytes a frame may take now: the data area less what the reader has
    /// not consumed yet. A writer that must not lose a frame (a test's
    /// flood) waits for room instead of having the drop counted.
    pub fn free(&self) -> u64 {
        // Acquire: the reader's copies out of the space it released happen
        // before we overwrite that space.
        let read_pos = self.shared.header().read_pos.load(Ordering::Acquire);
        // Wrapping and saturating: a corrupt read_pos from the host then
        // looks like a full ring, never a panic.
        let used = self.write_pos.wrapping_sub(read_pos);
        u64::from(self.shared.capacity).saturating_sub(used)
    }

    /// Size of the data area in bytes.
    pub fn capacity(&self) -> u32 {
        self.shared.capacity
    }

    /// Frames dropped so far because the ring was full.
    pub fn dropped_frames(&self) -> u64 {
        self.shared.header().dropped_frames.load(Ordering::Relaxed)
    }

    /// Bytes of those frames.
    pub fn dropped_bytes(&self) -> u64 {
        self.shared.header().dropped_bytes.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for RingWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingWriter")
            .field("capacity", &self.shared.capacity)
            .field("write_pos", &self.write_pos)
            .finish_non_exhaustive()
    }
}

/// The host's end: copies committed bytes out of the ring.
pub struct RingReader {
    shared: Shared,
    /// Our copy of `read_pos`; the header's is only ever written from it, so
    /// a guest scribbling on the header cannot move us.
    read_pos: u64,
    corruptions: u64,
}

impl RingReader {
    /// Attaches to a ring the guest initialised over `len` bytes at `ptr`,
    /// resuming from the header's `read_pos`.
    ///
    /// # Errors
    ///
    /// [`WireError::NotInitialised`] if the magic is not there yet (retry
    /// later); [`WireError::RingVersion`] on a version mismatch;
    /// [`WireError::RingCapacity`] if the header's capacity does not fit
    /// `len`; [`WireError::RingMisaligned`] and [`WireError::RingSize`] as
    /// for [`RingWriter::init`].
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes of `len` bytes for as long as
    /// the reader lives, and touched by nothing else but one [`RingWriter`].
    pub unsafe fn attach(ptr: *mut u8, len: usize) -> Result<RingReader, WireError> {
        check_region(ptr, len)?;
        // SAFETY: checked above; validity is the caller's promise. The
        // capacity is a placeholder until the header is validated.
        let mut shared = unsafe { Shared::new(ptr, 0) };
        let h = shared.header();
        // Acquire pairs with the Release store of the magic in `init`.
        if h.magic.load(Ordering::Acquire) != RING_MAGIC {
            return Err(WireError::NotInitialised);
        }
        let version = h.version.load(Ordering::Relaxed);
        if version != RING_VERSION {
            return Err(WireError::RingVersion {
                found: version,
                expected: RING_VERSION,
            });
        }
        // Read once and keep: the guest must not be able to widen the data
        // area past the mapping later.
        let capacity = h.capacity.load(Ordering::Relaxed);
        if capacity == 0 || ring_len_for(capacity) > len {
            return Err(WireError::RingCapacity { capacity, len });
        }
        let read_pos = h.read_pos.load(Ordering::Relaxed);
        shared.capacity = capacity;
        Ok(RingReader {
            shared,
            read_pos,
            corruptions: 0,
        })
    }

    /// Appends every byte committed since the last call to `out` and
    /// releases that space to the writer. Returns the number of bytes.
    ///
    /// If the header claims more unread bytes than the ring holds, the ring
    /// is corrupt: it counts a [`corruption`](Self::corruptions), skips to
    /// the writer's position and returns 0. The decoder then resynchronises
    /// on the next frame.
    pub fn read_into(&mut self, out: &mut Vec<u8>) -> usize {
        let h = self.shared.header();
        // Acquire pairs with the writer's Release: the bytes are there.
        let write_pos = h.write_pos.load(Ordering::Acquire);
        let n = write_pos.wrapping_sub(self.read_pos);
        let copied = if n > u64::from(self.shared.capacity) {
            self.corruptions += 1;
            0
        } else {
            // SAFETY: `[read_pos, write_pos)` is committed and unreleased, and
            // at most `capacity` long (checked just above).
            unsafe { self.shared.copy_out(self.read_pos, n as usize, out) };
            n as usize
        };
        self.read_pos = write_pos;
        // Release: our copies are done before the writer may reuse the space.
        h.read_pos.store(write_pos, Ordering::Release);
        copied
    }

    /// Size of the data area in bytes.
    pub fn capacity(&self) -> u32 {
        self.shared.capacity
    }

    /// Frames the guest dropped because the ring was full.
    pub fn dropped_frames(&self) -> u64 {
        self.shared.header().dropped_frames.load(Ordering::Relaxed)
    }

    /// Bytes of those frames.
    pub fn dropped_bytes(&self) -> u64 {
        self.shared.header().dropped_bytes.load(Ordering::Relaxed)
    }

    /// Times the header claimed more unread bytes than the ring holds.
    pub fn corruptions(&self) -> u64 {
        self.corruptions
    }
}

impl fmt::Debug for RingReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingReader")
            .field("capacity", &self.shared.capacity)
            .field("read_pos", &self.read_pos)
            .field("corruptions", &self.corruptions)
            .finish_non_exhaustive()
    }
}

/// A ring with `capacity` data bytes in an owned heap buffer, for tests and
/// benchmarks: the pair can be moved to two threads, and the buffer lives
/// until both are dropped.
///
/// # Errors
///
/// [`WireError::RingSize`] if `capacity` is 0.
pub fn in_memory_ring(capacity: u32) -> Result<(RingWriter, RingReader), WireError> {
    let len = ring_len_for(capacity);
    // u64 words give the header its alignment; atomics make the buffer
    // writable through the shared `Arc`.
    let buf: Arc<[AtomicU64]> = (0..len.div_ceil(8)).map(|_| AtomicU64::new(0)).collect();
    let ptr = buf.as_ptr().cast::<u8>().cast_mut();
    // SAFETY: the buffer is 8-aligned, at least `len` bytes, kept alive by the
    // `Arc` clones stored below, and used by this one writer/reader pair.
    let mut writer = unsafe { RingWriter::init(ptr, len)? };
    // SAFETY: as above.
    let mut reader = unsafe { RingReader::attach(ptr, len)? };
    writer.shared._owner = Some(Arc::clone(&buf));
    reader.shared._owner = Some(buf);
    Ok((writer, reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Foreign memory as the host would see it: a u64 buffer for alignment.
    fn region(capacity: u32) -> Vec<u64> {
        vec![0; ring_len_for(capacity).div_ceil(8)]
    }

    #[test]
    fn layout_matches_the_documented_offsets() {
        assert_eq!(std::mem::offset_of!(Header, version), 8);
        assert_eq!(std::mem::offset_of!(Header, capacity), 12);
        assert_eq!(std::mem::offset_of!(Header, write_pos), 16);
        assert_eq!(std::mem::offset_of!(Header, read_pos), 24);
        assert_eq!(std::mem::offset_of!(Header, dropped_frames), 32);
        assert_eq!(std::mem::offset_of!(Header, dropped_bytes), 40);
    }

    #[test]
    fn init_writes_the_header() {
        let mut mem = region(100);
        let len = ring_len_for(100);
        // SAFETY: `mem` outlives the writer and is used by nothing else.
        let writer = unsafe { RingWriter::init(mem.as_mut_ptr().cast(), len) }.unwrap();
        assert_eq!(writer.capacity(), 100);
        drop(writer);
        assert_eq!(mem[0].to_le_bytes(), *b"KTSTRING");
        assert_eq!(mem[1], u64::from(RING_VERSION) | 100 << 32);
    }

    #[test]
    fn region_checks() {
        let mut mem = region(16);
        let ptr = mem.as_mut_ptr().cast::<u8>();
        // SAFETY: this and the calls below fail before touching memory, or
        // touch `mem` only, which outlives them.
        let misaligned = unsafe { RingWriter::init(ptr.wrapping_add(1), 40) };
        assert!(matches!(misaligned, Err(WireError::RingMisaligned { .. })));
        // SAFETY: as above.
        let small = unsafe { RingWriter::init(ptr, RING_HEADER_LEN) };
        assert!(matches!(
            small,
            Err(WireError::RingSize {
                len: RING_HEADER_LEN
            })
        ));
        // SAFETY: as above.
        let early = unsafe { RingReader::attach(ptr, ring_len_for(16)) };
        assert!(matches!(early, Err(WireError::NotInitialised)));
        // SAFETY: as above.
        unsafe { RingWriter::init(ptr, ring_len_for(16)) }.unwrap();
        // SAFETY: as above; attaching with a shorter length than the capacity.
        let short = unsafe { RingReader::attach(ptr, ring_len_for(8)) };
        assert!(matches!(
            short,
            Err(WireError::RingCapacity { capacity: 16, .. })
        ));
        mem[1] = 2 | 16 << 32;
        let ptr = mem.as_mut_ptr().cast::<u8>();
        // SAFETY: as above.
        let version = unsafe { RingReader::attach(ptr, ring_len_for(16)) };
        assert!(matches!(
            version,
            Err(WireError::RingVersion {
                found: 2,
                expected: 1
            })
        ));
    }

    #[test]
    fn wraps_around_a_capacity_that_is_not_a_power_of_two() {
        let (mut w, mut r) = in_memory_ring(10).unwrap();
        let mut out = Vec::new();
        for i in 0..50_u8 {
            let frame = [i, i.wrapping_mul(3), i ^ 0x5a];
            assert!(w.write_frame(&frame));
            assert_eq!(r.read_into(&mut out), 3);
            assert_eq!(out, frame);
            out.clear();
        }
    }

    #[test]
    fn full_ring_drops_whole_frames() {
        let (mut w, mut r) = in_memory_ring(10).unwrap();
        assert!(w.write_frame(&[1; 6]));
        assert!(!w.write_frame(&[2; 5]), "only 4 bytes free");
        assert!(w.write_frame(&[3; 4]));
        assert!(!w.write_frame(&[4; 11]), "larger than the ring");
        assert_eq!((r.dropped_frames(), r.dropped_bytes()), (2, 16));
        assert_eq!((w.dropped_frames(), w.dropped_bytes()), (2, 16));
        let mut out = Vec::new();
        assert_eq!(r.read_into(&mut out), 10);
        assert_eq!(out, [1, 1, 1, 1, 1, 1, 3, 3, 3, 3]);
        assert!(w.write_frame(&[5; 10]), "reading freed the space");
        assert!(w.write_frame(&[]));
    }

    #[test]
    fn corrupt_write_pos_is_counted_not_trusted() {
        let (mut w, mut r) = in_memory_ring(16).unwrap();
        w.write_frame(b"abc");
        w.shared.header().write_pos.store(1000, Ordering::Relaxed);
        let mut out = Vec::new();
        assert_eq!(r.read_into(&mut out), 0);
        assert_eq!(r.corruptions(), 1);
        assert!(out.is_empty());
        // A backwards write_pos is corruption too.
        w.shared.header().write_pos.store(5, Ordering::Relaxed);
        assert_eq!(r.read_into(&mut out), 0);
        assert_eq!(r.corruptions(), 2);
    }

    #[test]
    fn corrupt_read_pos_makes_the_writer_drop() {
        let (mut w, r) = in_memory_ring(16).unwrap();
        r.shared
            .header()
            .read_pos
            .store(u64::MAX / 2, Ordering::Relaxed);
        assert!(!w.write_frame(b"x"));
        assert_eq!(w.dropped_frames(), 1);
    }

    #[test]
    fn reattach_resumes_at_read_pos() {
        let mut mem = region(32);
        let ptr = mem.as_mut_ptr().cast::<u8>();
        let len = ring_len_for(32);
        // SAFETY: `mem` outlives the writer and both readers, which take
        // turns: the first is dropped before the second attaches.
        let mut w = unsafe { RingWriter::init(ptr, len) }.unwrap();
        // SAFETY: as above.
        let mut r = unsafe { RingReader::attach(ptr, len) }.unwrap();
        let mut out = Vec::new();
        w.write_frame(b"first");
        r.read_into(&mut out);
        drop(r);
        w.write_frame(b"second");
        // SAFETY: as above.
        let mut r = unsafe { RingReader::attach(ptr, len) }.unwrap();
        out.clear();
        r.read_into(&mut out);
        assert_eq!(out, b"second");
    }
}
