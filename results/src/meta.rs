//! What a run was: its id, when and where it ran, the kernel and the
//! scheduler, and the numbers a comparison reads. Written into every run
//! record and read back by the store.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ktstr_model::HintPolarity;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The version of the run record's JSON form (`ktstr run --json`, the files
/// of the results store). Bumped when a field changes meaning or is removed;
/// adding a field does not bump it.
pub const RUN_RECORD_SCHEMA: u32 = 2;

/// Who started a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOrigin {
    /// `ktstr run`, or a library user's `Run`.
    #[default]
    Run,
    /// A `#[ktstr::test]` case.
    Harness,
    /// A cell of `ktstr gauntlet`.
    Gauntlet,
    /// One side of `ktstr compare`.
    Compare,
}

impl RunOrigin {
    /// The word used in filters and tables (`run`, `harness`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RunOrigin::Run => "run",
            RunOrigin::Harness => "harness",
            RunOrigin::Gauntlet => "gauntlet",
            RunOrigin::Compare => "compare",
        }
    }
}

impl fmt::Display for RunOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity of one run: every field a results query filters on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Unique over machines: UTC start time and a hash (`20261202T135501Z-3fa91c0e`).
    pub id: String,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
    /// Who started it.
    pub origin: RunOrigin,
    /// The scenario's name.
    pub scenario: String,
    /// The scheduler and its arguments (`eevdf`, `scx_bpfland@1.1.4 -m performance`).
    pub scheduler: String,
    /// Where the scheduler came from and which build it was.
    pub scheduler_build: SchedulerBuild,
    /// The requested topology (`1n2l2c1t`).
    pub topology: String,
    /// The VM backend (`qemu`, `kvm`).
    pub backend: String,
    /// How vCPUs were executed (`kvm`, `tcg`).
    pub accel: String,
    /// The cache id of the kernel, or `path` for an image outside the cache.
    pub kernel: String,
    /// The kernel's release and configuration.
    pub kernel_build: KernelBuild,
    /// The machine the run was on.
    pub host: HostInfo,
}

/// Which scheduler binary ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchedulerBuild {
    /// Its short name (`scx_simple`, `eevdf`, the file name of a path).
    pub name: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// The crates.io version of an scx scheduler (`1.1.4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// SHA-256 of the binary (absent for EEVDF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The git commit of the source tree the binary was built in, when it
    /// lies in one (`./target/release/my_sched`), with `-dirty` for
    /// uncommitted changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Which kernel ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelBuild {
    /// The kernel release (`6.12.57`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// SHA-256 of the kconfig fragment it was configured with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_sha256: Option<String>,
}

/// The machine a run was on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// Its host name.
    pub hostname: String,
    /// The CPU model (`/proc/cpuinfo`'s `model name`).
    pub cpu_model: String,
    /// Online CPUs.
    pub cores: u32,
}

impl HostInfo {
    /// This machine, read from `/proc`; fields that cannot be read are empty.
    pub fn this_machine() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, m)| m.trim().to_string())
            .unwrap_or_default();
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get() as u32);
        HostInfo {
            hostname,
            cpu_model,
            cores,
        }
    }
}

/// One number a run produced, as comparisons read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetric {
    /// Its name (`total_work_units`, `cgroup.mix.p99_wake_us`, `payload.fio.read_iops`).
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Its unit, when known (`ms`, `us`, `units`, `%`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Which direction is better; `None`: a change is reported, not judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polarity: Option<HintPolarity>,
    /// Differences smaller than this (in the metric's unit) are noise: the
    /// measurement's resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_floor: Option<f64>,
}

impl RunMetric {
    /// A metric with a unit and polarity, no noise floor.
    ///
    /// ```
    /// use ktstr_model::HintPolarity;
    /// use ktstr_results::RunMetric;
    ///
    /// let m = RunMetric::new("worst_gap_ms", 12.0, "ms", Some(HintPolarity::LowerBetter));
    /// assert_eq!(m.unit.as_deref(), Some("ms"));
    /// ```
    pub fn new(
        name: impl Into<String>,
        value: f64,
        unit: &str,
        polarity: Option<HintPolarity>,
    ) -> Self {
        RunMetric {
            name: name.into(),
            value,
            unit: (!unit.is_empty()).then(|| unit.to_string()),
            polarity,
            noise_floor: None,
        }
    }

    /// The same metric with a noise floor.
    #[must_use]
    pub fn with_noise_floor(mut self, floor: f64) -> Self {
        self.noise_floor = Some(floor);
        self
    }
}

/// A new run id for a run that started at `started`: the UTC time to the
/// second, then 8 hex digits of a hash over the time in nanoseconds, the
/// process id, a per-process counter and `salt` (host name and scenario,
/// say), so runs from many machines and processes do not collide.
pub fn new_run_id(started: SystemTime, salt: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = started
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut h = Sha256::new();
    h.update(nanos.to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    h.update(salt.as_bytes());
    let digest = hex::encode(&h.finalize()[..4]);
    let stamp: String = rfc3339(started)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{stamp}-{digest}")
}

/// `started` as RFC 3339 UTC to the second (`2026-12-02T13:55:01Z`).
pub fn rfc3339(started: SystemTime) -> String {
    humantime::format_rfc3339_seconds(started).to_string()
}

/// SHA-256 of a file as hex, `None` if it cannot be read.
pub fn file_sha256(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).ok()?;
    Some(hex::encode(h.finalize()))
}

/// The git commit of the work tree `path` lies in (`-dirty` appended when it
/// has uncommitted changes), `None` outside a git work tree or without git.
pub fn git_commit_of(path: &Path) -> Option<String> {
    let dir = if path.is_dir() { path } else { path.parent()? };
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty())?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn run_ids_carry_their_start_time_and_are_distinct() {
        let t = UNIX_EPOCH + Duration::from_secs(1_764_683_701);
        let a = new_run_id(t, "steady");
        let b = new_run_id(t, "steady");
        assert_ne!(a, b);
        assert!(a.starts_with("20251202T135501Z-"), "{a}");
        assert_eq!(a.len(), "20251202T135501Z-".len() + 8);
    }

    #[test]
    fn git_commit_outside_a_repository_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(git_commit_of(dir.path()), None);
    }
}
