//! A terminal renderer for [`BuildEvent`]s.

use std::time::{Duration, Instant};

use indicatif::{HumanDuration, ProgressBar, ProgressStyle};

use crate::BuildEvent;

/// A progress callback for [`crate::KernelCache::build`] that shows one
/// spinner line: the stage, how many build steps (`CC`, `LD`, ...) it has
/// run, the file being built and the elapsed time. Each finished stage
/// leaves a one-line summary. Make output is not shown, except lines that
/// report errors; a failed stage's last lines are in the returned
/// [`crate::KernelError::BuildFailed`].
///
/// Without a terminal on stderr the spinner is hidden and only the stage
/// summaries are printed, which suits CI logs.
pub fn indicatif_progress() -> impl FnMut(BuildEvent) {
    let mut renderer = Renderer::new();
    move |event| renderer.handle(event)
}

struct Renderer {
    bar: ProgressBar,
    stage: Option<Stage>,
}

struct Stage {
    name: String,
    steps: u64,
    started: Instant,
}

impl Renderer {
    fn new() -> Renderer {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner:.green} {prefix:.bold} [{elapsed}] {wide_msg}")
                .expect("template is valid"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Renderer { bar, stage: None }
    }

    fn handle(&mut self, event: BuildEvent) {
        match event {
            BuildEvent::Stage(name) => {
                self.finish_stage("done");
                self.bar.reset_elapsed();
                self.bar.set_prefix(name.clone());
                self.bar.set_message("");
                self.stage = Some(Stage {
                    name,
                    steps: 0,
                    started: Instant::now(),
                });
            }
            BuildEvent::Line(line) => self.line(&line),
            BuildEvent::Done => {
                self.finish_stage("done");
                self.bar.finish_and_clear();
            }
        }
    }

    fn line(&mut self, line: &str) {
        if reports_error(line) {
            self.print(line.to_owned());
        }
        let Some(stage) = &mut self.stage else { return };
        if let Some(target) = build_step(line) {
            stage.steps += 1;
            self.bar
                .set_message(format!("{} steps  {}", stage.steps, tail_chars(target, 50)));
        }
    }

    /// Prints a summary of the current stage, if any, and forgets it.
    fn finish_stage(&mut self, outcome: &str) {
        if let Some(stage) = self.stage.take() {
            let steps = match stage.steps {
                0 => String::new(),
                n => format!(", {n} steps"),
            };
            self.print(format!(
                "{} {} ({}{steps})",
                outcome,
                stage.name,
                HumanDuration(stage.started.elapsed())
            ));
        }
    }

    fn print(&self, text: String) {
        if self.bar.is_hidden() {
            eprintln!("{text}");
        } else {
            self.bar.println(text);
        }
    }
}

impl Drop for Renderer {
    /// Dropped before `Done`: the build failed (the error follows).
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.finish_stage("failed");
            self.bar.finish_and_clear();
        }
    }
}

/// The target of a kbuild-style step line (`  CC      kernel/sched/core.o`)
/// or of a cargo one (`   Compiling libbpf-sys v1.5.0`).
fn build_step(line: &str) -> Option<&str> {
    if let Some(krate) = line.trim_start().strip_prefix("Compiling ") {
        return Some(krate.trim());
    }
    let rest = line.strip_prefix("  ")?;
    let (tag, target) = rest.split_once(' ')?;
    let is_tag = !tag.is_empty()
        && tag
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_');
    is_tag.then(|| target.trim())
}

fn reports_error(line: &str) -> bool {
    line.contains("error:") || line.contains("Error ") || line.starts_with("make: ***")
}

/// The last `max` characters of `text`: the informative end of a path.
fn tail_chars(text: &str, max: usize) -> &str {
    let count = text.chars().count();
    match text.char_indices().nth(count.saturating_sub(max)) {
        Some((i, _)) => &text[i..],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines_are_recognised() {
        assert_eq!(
            build_step("  CC      kernel/sched/core.o"),
            Some("kernel/sched/core.o")
        );
        assert_eq!(
            build_step("  GEN-SKEL scx_simple.bpf.skel.h"),
            Some("scx_simple.bpf.skel.h")
        );
        assert_eq!(
            build_step("  HOSTCC  scripts/basic/fixdep"),
            Some("scripts/basic/fixdep")
        );
        assert_eq!(
            build_step("   Compiling libbpf-sys v1.5.0"),
            Some("libbpf-sys v1.5.0")
        );
        assert_eq!(build_step("make[1]: Entering directory '/x'"), None);
        assert_eq!(build_step("  warning: something"), None);
        assert_eq!(
            build_step("Kernel: arch/x86/boot/bzImage is ready  (#1)"),
            None
        );
    }

    #[test]
    fn long_targets_keep_their_end() {
        assert_eq!(tail_chars("abcdef", 3), "def");
        assert_eq!(tail_chars("abc", 5), "abc");
        assert_eq!(tail_chars("ääää", 2), "ää");
    }

    #[test]
    fn error_lines_are_recognised() {
        assert!(reports_error(
            "kernel/sched/ext.c:12:3: error: expected ';'"
        ));
        assert!(reports_error(
            "make[2]: *** [scripts/Makefile.build:229: x.o] Error 1"
        ));
        assert!(!reports_error("  CC      kernel/sched/core.o"));
    }

    #[test]
    fn renderer_survives_a_whole_event_sequence() {
        let mut progress = indicatif_progress();
        progress(BuildEvent::Stage("build kernel".into()));
        progress(BuildEvent::Line("  CC      init/main.o".into()));
        progress(BuildEvent::Line("x".repeat(500)));
        progress(BuildEvent::Done);
        let mut failing = indicatif_progress();
        failing(BuildEvent::Stage("configure".into()));
        drop(failing);
    }
}
