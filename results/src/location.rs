//! Where results go when no directory is given.

use std::path::{Path, PathBuf};

/// The environment variable that names the results directory for every
/// ktstr process (the command line's `--results` overrides it).
pub const RESULTS_ENV: &str = "KTSTR_RESULTS";

/// The results directory when none is given: `$KTSTR_RESULTS`; else
/// `ktstr/` in the cargo target directory of the project being worked on
/// (`$CARGO_TARGET_DIR`, the target directory this binary was built into,
/// or `target/` of the cargo workspace around the current directory); else
/// `$XDG_DATA_HOME/ktstr/results` (`~/.local/share/ktstr/results`).
/// `None` only when not even a home directory is known.
///
/// So a scheduler repository's `cargo nextest run` and `ktstr` run inside
/// that repository share one store.
pub fn default_results_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os(RESULTS_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(d));
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(t).join("ktstr"));
    }
    let built_in = std::env::current_exe()
        .ok()
        .and_then(|exe| target_dir_of_binary(&exe));
    let project = std::env::current_dir()
        .ok()
        .and_then(|cwd| cargo_workspace_root(&cwd).map(|r| r.join("target")));
    if let Some(t) = built_in.or(project) {
        return Some(t.join("ktstr"));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("ktstr/results"))
}

/// The cargo target directory a binary was built into: `T` for
/// `T/<profile>/<bin>` and `T/<profile>/deps/<test-bin>` when `T` holds
/// cargo's `CACHEDIR.TAG`.
pub fn target_dir_of_binary(exe: &Path) -> Option<PathBuf> {
    let mut dir = exe.parent()?;
    if dir
        .file_name()
        .is_some_and(|n| n == "deps" || n == "examples")
    {
        dir = dir.parent()?;
    }
    let target = dir.parent()?;
    target
        .join("CACHEDIR.TAG")
        .is_file()
        .then(|| target.to_path_buf())
}

/// The nearest directory at or above `dir` whose `Cargo.toml` declares a
/// `[workspace]`, else the nearest one with a `Cargo.toml`.
pub fn cargo_workspace_root(dir: &Path) -> Option<PathBuf> {
    let mut nearest = None;
    let mut workspace = None;
    for d in dir.ancestors() {
        let manifest = d.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            nearest.get_or_insert_with(|| d.to_path_buf());
            if text.lines().any(|l| l.trim() == "[workspace]") {
                workspace = Some(d.to_path_buf());
                break;
            }
        }
    }
    workspace.or(nearest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_binary_finds_its_target_directory() {
        let root = tempfile::tempdir().unwrap();
        let deps = root.path().join("target/debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        assert_eq!(target_dir_of_binary(&deps.join("scheduler-0123")), None);
        std::fs::write(root.path().join("target/CACHEDIR.TAG"), "").unwrap();
        let t = root.path().join("target");
        assert_eq!(
            target_dir_of_binary(&deps.join("scheduler-0123")),
            Some(t.clone())
        );
        assert_eq!(target_dir_of_binary(&t.join("debug/ktstr")), Some(t));
    }

    #[test]
    fn the_workspace_root_wins_over_a_member() {
        let root = tempfile::tempdir().unwrap();
        let member = root.path().join("sched/crate");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(
            root.path().join("Cargo.toml"),
            "[workspace]\nmembers = []\n",
        )
        .unwrap();
        std::fs::write(member.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
        assert_eq!(
            cargo_workspace_root(&member),
            Some(root.path().to_path_buf())
        );
        let lone = tempfile::tempdir().unwrap();
        std::fs::write(lone.path().join("Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(
            cargo_workspace_root(lone.path()),
            Some(lone.path().to_path_buf())
        );
    }
}
