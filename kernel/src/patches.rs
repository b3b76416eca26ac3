//! The project's patches to the Debian kernel source, applied after
//! extracting it and part of the cache id.
//!
//! They are kept minimal and only expose knobs the harness needs; a kernel
//! tree the user brings (`--source DIR`) is built as it is, and the guest
//! reports which knobs it found.

use std::path::Path;
use std::process::Command;

use crate::run::run_streamed;
use crate::{BuildEvent, KernelError, KernelSource};

/// One patch: its file name and its text (a `patch -p1` unified diff).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelPatch {
    /// The file name under `kernel/patches/`.
    pub name: &'static str,
    /// The unified diff, with a description before the first `---`.
    pub text: &'static str,
}

/// The patches applied to the Debian tarball, in order.
///
/// `scx_watchdog_max_ms` caps the sched_ext watchdog timeout (6.12 takes it
/// only from the scheduler's `ops.timeout_ms`, default 30 s), so a stall is
/// reported within a scenario of a few seconds.
pub const PATCHES: &[KernelPatch] = &[KernelPatch {
    name: "0001-sched_ext-watchdog-max-ms.patch",
    text: include_str!("../patches/0001-sched_ext-watchdog-max-ms.patch"),
}];

/// The kernel command-line parameter the first patch adds (milliseconds).
pub const WATCHDOG_MAX_MS_PARAM: &str = "scx_watchdog_max_ms";

/// The patches a build of `source` gets: all of them for the Debian
/// tarball, none for a tree the user brings.
pub fn patches_for(source: &KernelSource) -> &'static [KernelPatch] {
    match source {
        KernelSource::DebianTarball(_) => PATCHES,
        KernelSource::Tree(_) => &[],
    }
}

/// Everything besides the source that decides what is built: the fragment,
/// then each patch. Hashed into the cache id.
pub(crate) fn recipe_text(fragment: &str, patches: &[KernelPatch]) -> String {
    let mut text = fragment.to_owned();
    for patch in patches {
        text.push_str("\npatch ");
        text.push_str(patch.name);
        text.push('\n');
        text.push_str(patch.text);
    }
    text
}

/// Applies `patches` to the tree at `src` with `patch -p1 --forward`.
pub(crate) fn apply(
    src: &Path,
    patches: &[KernelPatch],
    progress: &mut dyn FnMut(BuildEvent),
) -> Result<(), KernelError> {
    for patch in patches {
        progress(BuildEvent::Stage(format!("patch ({})", patch.name)));
        let file = src.join(format!(".ktstr-{}", patch.name));
        std::fs::write(&file, patch.text).map_err(KernelError::io("write", &file))?;
        let mut cmd = Command::new("patch");
        cmd.arg("-p1")
            .arg("--forward")
            .arg("--batch")
            .arg("-d")
            .arg(src)
            .arg("-i")
            .arg(&file);
        let result = run_streamed(&format!("patch {}", patch.name), cmd, progress);
        std::fs::remove_file(&file).map_err(KernelError::io("remove", &file))?;
        result?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_patch_is_a_unified_diff_of_the_kernel_tree() {
        for patch in PATCHES {
            assert!(patch.text.contains("\n--- a/"), "{}", patch.name);
            assert!(patch.text.contains("\n+++ b/"), "{}", patch.name);
            assert!(patch.text.contains("\n@@ "), "{}", patch.name);
        }
        assert!(PATCHES[0].text.contains(WATCHDOG_MAX_MS_PARAM));
    }

    #[test]
    fn patches_change_the_recipe_and_only_the_tarball_gets_them() {
        assert_eq!(recipe_text("F", &[]), "F");
        assert_ne!(recipe_text("F", PATCHES), "F");
        let tree = KernelSource::Tree("/src/linux".into());
        assert!(patches_for(&tree).is_empty());
        assert_eq!(patches_for(&KernelSource::default()), PATCHES);
    }

    #[test]
    fn the_watchdog_patch_applies_to_the_debian_source_when_it_is_installed() {
        // Real source, real `patch`; scripts/setup.sh installs the tarball.
        let tarball = Path::new(crate::DEFAULT_TARBALL);
        assert!(
            tarball.is_file(),
            "{} is not installed: run scripts/setup.sh",
            tarball.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("tar")
            .arg("-xf")
            .arg(tarball)
            .arg("-C")
            .arg(dir.path())
            .arg("--wildcards")
            .arg("*/kernel/sched/ext.c")
            .status()
            .unwrap();
        assert!(status.success());
        let src = dir.path().join("linux-source-6.12");
        apply(&src, PATCHES, &mut |_| {}).unwrap();
        let ext = std::fs::read_to_string(src.join("kernel/sched/ext.c")).unwrap();
        assert!(ext.contains("core_param(scx_watchdog_max_ms"));
        // Applying twice is refused, not doubled.
        assert!(apply(&src, PATCHES, &mut |_| {}).is_err());
    }
}
