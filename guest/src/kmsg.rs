//! Reading the kernel log (`/dev/kmsg`) without blocking.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

/// A reader positioned at the start of the kernel's log buffer.
pub(crate) struct Kmsg {
    file: Option<File>,
}

impl Kmsg {
    pub(crate) fn open() -> Kmsg {
        Kmsg {
            file: std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open("/dev/kmsg")
                .ok(),
        }
    }

    /// New records since the last call, as message text (without the prefix).
    pub(crate) fn read_new(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let Some(f) = self.file.as_mut() else {
            return out;
        };
        let mut buf = vec![0u8; 8192];
        loop {
            // Each read returns exactly one record; EAGAIN ends the batch, EPIPE
            // means records were overwritten (skip on).
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    let text = rec.split_once(';').map_or(rec.as_ref(), |(_, t)| t);
                    out.push(text.lines().next().unwrap_or("").to_string());
                }
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(_) => break,
            }
        }
        out
    }
}
