//! The guest runtime's error type, and how an error becomes text for the wire.

use std::error::Error;
use std::io;
use std::path::PathBuf;

use ktstr_model::{AffinityMode, Policy, ScenarioError};
use ktstr_wire::WireError;

/// What failed in the guest. Messages read "failed to …"; the OS error (or
/// other cause) is the [`source`](Error::source), printed once by
/// [`error_chain`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum GuestError {
    /// A file other than a cgroup's could not be read, written or opened.
    #[error("failed to {action} `{}`", path.display())]
    File {
        /// What was being done, as a fragment after "failed to".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The plan is not a plan of this version.
    #[error("failed to decode the plan `{path}` (host and guest built from different versions?)")]
    DecodePlan {
        /// Where the plan was read from.
        path: &'static str,
        /// The decoder's error.
        #[source]
        source: Box<dyn Error + Send + Sync>,
    },
    /// A cgroup directory could not be created.
    #[error("failed to create cgroup `{}`", path.display())]
    CgroupCreate {
        /// The cgroup's directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A cgroup control file refused a value.
    #[error("failed to write `{value}` to `{}`", path.display())]
    CgroupWrite {
        /// The control file.
        path: PathBuf,
        /// What was written (without a trailing newline).
        value: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A cgroup could not be removed.
    #[error("failed to remove cgroup `{}`", path.display())]
    CgroupRemove {
        /// The cgroup's directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A cpuset spec does not resolve on the VM's topology.
    #[error("failed to resolve the cpuset of `{cgroup}`")]
    Cpuset {
        /// The cgroup the cpuset is for.
        cgroup: String,
        /// Why it does not resolve.
        #[source]
        source: ScenarioError,
    },
    /// A worker group would not fit the run's worker slots.
    #[error("failed to spawn {count} workers in `{cgroup}`: a run holds at most {max}")]
    TooManyWorkers {
        /// The group's cgroup.
        cgroup: String,
        /// Workers in the group.
        count: usize,
        /// [`MAX_WORKERS`](crate::worker::shared::MAX_WORKERS).
        max: usize,
    },
    /// A worker's scheduling policy could not be set.
    #[error("failed to set policy `{policy:?}` on pid {pid}")]
    SetPolicy {
        /// The worker.
        pid: i32,
        /// The policy asked for.
        policy: Policy,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A worker's nice value could not be set.
    #[error("failed to set nice {nice} on pid {pid}")]
    SetNice {
        /// The worker.
        pid: i32,
        /// The nice value asked for.
        nice: i32,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A worker's CPU affinity could not be set.
    #[error("failed to set affinity of pid {pid} (`{mode:?}`)")]
    SetAffinity {
        /// The worker.
        pid: i32,
        /// The affinity mode being applied.
        mode: AffinityMode,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A system call failed.
    #[error("failed to {action} (`{call}`)")]
    Syscall {
        /// What was being done, as a fragment after "failed to".
        action: &'static str,
        /// The system call.
        call: &'static str,
        /// The OS error (its errno).
        #[source]
        source: io::Error,
    },
    /// A program (the scheduler under test, a payload) could not be started.
    #[error("failed to start `{program}`")]
    Start {
        /// The program's path.
        program: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A path handed to the kernel contains a NUL byte.
    #[error("failed to use path `{path}`: it contains a NUL byte")]
    NulInPath {
        /// The path.
        path: String,
    },
    /// `ktstr.wire=ivshmem` but no ivshmem device is there.
    #[error("failed to find the ivshmem PCI device")]
    NoIvshmem,
    /// `ktstr.wire=mem:…` names no usable region.
    #[error("failed to parse ring region `{region}` (want ADDR,LEN: ADDR page-aligned, LEN > 0)")]
    RingRegion {
        /// The text after `mem:`.
        region: String,
    },
    /// The memory holding the wire ring could not be mapped.
    #[error("failed to map {len} bytes of `{}` at {offset:#x}", path.display())]
    RingMap {
        /// The device or `/dev/mem`.
        path: PathBuf,
        /// Offset into it.
        offset: u64,
        /// Bytes asked for.
        len: u64,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The mapped memory cannot hold a ring.
    #[error("failed to set up the wire ring")]
    RingInit(#[source] WireError),
}

impl GuestError {
    /// A `map_err` adapter for [`GuestError::Syscall`].
    pub(crate) fn syscall(
        action: &'static str,
        call: &'static str,
    ) -> impl FnOnce(io::Error) -> GuestError {
        move |source| GuestError::Syscall {
            action,
            call,
            source,
        }
    }

    /// A `map_err` adapter for [`GuestError::File`].
    pub(crate) fn file(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> GuestError {
        let path = path.into();
        move |source| GuestError::File {
            action,
            path,
            source,
        }
    }
}

/// An error and its sources joined with ": ", for text that leaves the guest
/// (the wire, the console): the headline says what failed, the tail why.
pub(crate) fn error_chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_os_error_is_printed_once_after_what_failed() {
        let e = GuestError::CgroupWrite {
            path: PathBuf::from("/sys/fs/cgroup/ktstr/a/cpuset.cpus"),
            value: "0-3".into(),
            source: io::Error::from_raw_os_error(libc::EINVAL),
        };
        let text = error_chain(&e);
        assert!(
            text.starts_with("failed to write `0-3` to `/sys/fs/cgroup/ktstr/a/cpuset.cpus`: "),
            "{text}"
        );
        assert_eq!(text.matches("os error 22").count(), 1, "{text}");
        assert!(!e.to_string().contains("os error"), "{e}");
    }

    #[test]
    fn a_syscall_error_names_the_call_and_the_errno() {
        let e = GuestError::syscall("reap the child", "waitpid")(io::Error::from_raw_os_error(
            libc::ECHILD,
        ));
        let text = error_chain(&e);
        assert!(
            text.starts_with("failed to reap the child (`waitpid`): "),
            "{text}"
        );
        assert!(text.ends_with("(os error 10)"), "{text}");
    }

    #[test]
    fn every_cause_down_the_chain_is_printed_once() {
        let inner = GuestError::file("read the plan", "/plan.json")(io::Error::from_raw_os_error(
            libc::ENOENT,
        ));
        let e = GuestError::DecodePlan {
            path: "/plan.json",
            source: Box::new(inner),
        };
        let text = error_chain(&e);
        assert!(
            text.starts_with("failed to decode the plan `/plan.json` (host and guest built from different versions?): failed to read the plan `/plan.json`: "),
            "{text}"
        );
        assert_eq!(text.matches("os error 2").count(), 1, "{text}");
        let ring = error_chain(&GuestError::RingInit(WireError::RingSize { len: 8 }));
        assert!(
            ring.starts_with("failed to set up the wire ring: set up ring: region of 8 bytes"),
            "{ring}"
        );
    }
}
