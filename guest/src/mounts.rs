//! The pseudo filesystems PID 1 needs.

use std::ffi::CString;

/// Mounts proc, sysfs, devtmpfs, cgroup2, tmpfs on /tmp and debugfs. A mount that
/// fails is reported, not fatal: the host decides whether what is missing matters.
pub(crate) fn mount_all() -> Vec<String> {
    let table: &[(&str, &str, &str)] = &[
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("devtmpfs", "/dev", "devtmpfs"),
        ("tmpfs", "/tmp", "tmpfs"),
        ("cgroup2", "/sys/fs/cgroup", "cgroup2"),
        ("debugfs", "/sys/kernel/debug", "debugfs"),
    ];
    let mut errors = Vec::new();
    for (src, target, fstype) in table {
        let _ = std::fs::create_dir_all(target);
        if let Err(e) = mount(src, target, fstype) {
            errors.push(format!("mount {fstype} on {target}: {e}"));
        }
    }
    errors
}

fn mount(src: &str, target: &str, fstype: &str) -> std::io::Result<()> {
    let c = |s: &str| {
        CString::new(s).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (src, target, fstype) = (c(src)?, c(target)?, c(fstype)?);
    // SAFETY: all pointers are NUL-terminated strings that outlive the call; no data.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        let e = std::io::Error::last_os_error();
        // Already mounted (e.g. devtmpfs automount) is fine.
        if e.raw_os_error() == Some(libc::EBUSY) {
            Ok(())
        } else {
            Err(e)
        }
    }
}
