//! The scenario's cgroup v2 tree under `/sys/fs/cgroup/ktstr`.

use std::fs;
use std::path::{Path, PathBuf};

use ktstr_model::{format_cpulist, parse_cpulist};

use crate::error::GuestError;

/// Where cgroup2 is mounted in the guest.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// Controllers every level enables for its children.
const CONTROLLERS: &str = "+cpuset +cpu";

/// The scenario's cgroups, removed on drop.
pub(crate) struct CgroupTree {
    root: PathBuf,
    created: Vec<String>,
}

impl CgroupTree {
    /// Creates `/sys/fs/cgroup/ktstr` with the cpuset and cpu controllers enabled.
    pub(crate) fn new() -> Result<CgroupTree, GuestError> {
        enable_controllers(Path::new(CGROUP_ROOT))?;
        let root = PathBuf::from(CGROUP_ROOT).join("ktstr");
        fs::create_dir_all(&root).map_err(|source| GuestError::CgroupCreate {
            path: root.clone(),
            source,
        })?;
        enable_controllers(&root)?;
        Ok(CgroupTree {
            root,
            created: Vec::new(),
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Creates cgroup `name` (`a/b` nests under `a`, which must exist).
    pub(crate) fn create(&mut self, name: &str) -> Result<(), GuestError> {
        let p = self.path(name);
        fs::create_dir_all(&p).map_err(|source| GuestError::CgroupCreate {
            path: p.clone(),
            source,
        })?;
        if let Some(parent) = p.parent() {
            if parent != self.root {
                enable_controllers(parent)?;
            }
        }
        self.created.push(name.to_string());
        Ok(())
    }

    /// Sets (or with an empty list, clears) the cgroup's `cpuset.cpus`.
    pub(crate) fn set_cpus(&self, name: &str, cpus: &[u32]) -> Result<(), GuestError> {
        let text = format_cpulist(cpus);
        // A lone newline empties the list.
        write(
            &self.path(name).join("cpuset.cpus"),
            if text.is_empty() { "\n" } else { &text },
        )
    }

    /// Clears the cgroup's `cpuset.cpus` so it inherits its parent's. The kernel
    /// refuses to empty the cpuset of a populated cgroup (ENOSPC); then the
    /// parent's effective CPUs are written instead, which allows the same CPUs.
    pub(crate) fn clear_cpus(&self, name: &str) -> Result<(), GuestError> {
        if self.set_cpus(name, &[]).is_ok() {
            return Ok(());
        }
        let parent = match name.rsplit_once('/') {
            Some((p, _)) => self.effective_cpus(p),
            None => fs::read_to_string(self.root.join("cpuset.cpus.effective"))
                .ok()
                .and_then(|s| parse_cpulist(&s))
                .unwrap_or_default(),
        };
        self.set_cpus(name, &parent)
    }

    /// The cgroup's effective CPUs.
    pub(crate) fn effective_cpus(&self, name: &str) -> Vec<u32> {
        fs::read_to_string(self.path(name).join("cpuset.cpus.effective"))
            .ok()
            .and_then(|s| parse_cpulist(&s))
            .unwrap_or_default()
    }

    /// The cgroup's configured `cpuset.cpus` (empty when inherited).
    pub(crate) fn configured_cpus(&self, name: &str) -> Vec<u32> {
        fs::read_to_string(self.path(name).join("cpuset.cpus"))
            .ok()
            .and_then(|s| parse_cpulist(&s))
            .unwrap_or_default()
    }

    /// The cgroup's `cgroup.procs` file.
    pub(crate) fn procs_path(&self, name: &str) -> String {
        self.path(name)
            .join("cgroup.procs")
            .to_string_lossy()
            .into_owned()
    }

    /// Moves a process into the cgroup.
    pub(crate) fn add_pid(&self, name: &str, pid: i32) -> Result<(), GuestError> {
        write(&self.path(name).join("cgroup.procs"), &pid.to_string())
    }

    /// Processes in the cgroup.
    pub(crate) fn pids(&self, name: &str) -> Vec<i32> {
        fs::read_to_string(self.path(name).join("cgroup.procs"))
            .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// Removes a cgroup and its children (they must hold no processes).
    pub(crate) fn remove(&mut self, name: &str) -> Result<(), GuestError> {
        let prefix = format!("{name}/");
        let mut doomed: Vec<String> = self
            .created
            .iter()
            .filter(|c| *c == name || c.starts_with(&prefix))
            .cloned()
            .collect();
        // Children first.
        doomed.sort_by_key(|c| std::cmp::Reverse(c.matches('/').count()));
        for c in &doomed {
            let path = self.path(c);
            fs::remove_dir(&path).map_err(|source| GuestError::CgroupRemove { path, source })?;
        }
        self.created.retain(|c| !doomed.contains(c));
        Ok(())
    }

    /// Every cgroup created and not removed, in creation order.
    pub(crate) fn names(&self) -> &[String] {
        &self.created
    }
}

impl Drop for CgroupTree {
    fn drop(&mut self) {
        let mut all = self.created.clone();
        all.sort_by_key(|c| std::cmp::Reverse(c.matches('/').count()));
        for c in all {
            let _ = fs::remove_dir(self.path(&c));
        }
    }
}

fn enable_controllers(dir: &Path) -> Result<(), GuestError> {
    // The cpu controller may be unavailable with some configurations; cpuset is
    // required, and its failure is the one reported.
    if write(&dir.join("cgroup.subtree_control"), CONTROLLERS).is_err() {
        write(&dir.join("cgroup.subtree_control"), "+cpuset")?;
    }
    Ok(())
}

/// Writes `text` to the control file `path`.
fn write(path: &Path, text: &str) -> Result<(), GuestError> {
    fs::write(path, text).map_err(|source| GuestError::CgroupWrite {
        path: path.to_path_buf(),
        value: text.trim_end().to_string(),
        source,
    })
}
