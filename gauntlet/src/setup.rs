//! Preparing a gauntlet: budgets, schedulers with their profiles, presets,
//! how many VMs fit at once.

use std::time::Duration;

use ktstr_kernel::ResolvedKernel;
use ktstr_model::{presets, Preset};
use ktstr_runner::{RunError, SchedulerArg};
use ktstr_scheduler::SchedulerDecl;

use crate::{Cell, SchedulerUnderTest};

/// Parses a budget: `20m`, `90s`, `1h`, `1h30m` or plain seconds, 1 s to 7 days.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(ktstr_gauntlet::parse_budget("1h30m"), Ok(Duration::from_secs(5400)));
/// assert!(ktstr_gauntlet::parse_budget("8d").is_err());
/// ```
///
/// # Errors
///
/// A message naming the text and the accepted forms.
pub fn parse_budget(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration\nhint: write e.g. `20m`, `90s`, `1h30m`");
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() {
        total = total
            .checked_add(number.parse().map_err(|_| bad())?)
            .ok_or_else(bad)?;
    }
    if total == 0 || total > 7 * 24 * 3600 {
        return Err(format!(
            "`{text}`: the budget must be between 1 s and 7 days"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// The presets named (all of them when `names` is empty).
///
/// # Errors
///
/// The first unknown name, with where to find the list.
pub fn resolve_presets(names: &[String]) -> Result<Vec<Preset>, String> {
    if names.is_empty() {
        return Ok(presets().to_vec());
    }
    names
        .iter()
        .map(|n| {
            ktstr_model::preset(n).copied().ok_or_else(|| {
                format!("unknown preset `{n}`\nhint: `ktstr topo list` shows the presets")
            })
        })
        .collect()
}

/// A scheduler under test: `decl` when it came from a declaration file, else
/// the value as for `ktstr run -s`, with the profiles of ktstr's declaration
/// for it when `profiles` (at most `max`), after the arguments the user gave.
///
/// # Errors
///
/// As [`ktstr_runner::resolve_scheduler`] and [`ktstr_runner::resolve_decl`].
pub fn scheduler_under_test(
    value: &str,
    decl: Option<&SchedulerDecl>,
    kernel: &ResolvedKernel,
    profiles: bool,
    max: usize,
) -> Result<(SchedulerArg, SchedulerUnderTest), RunError> {
    if let Some(decl) = decl {
        let arg = ktstr_runner::resolve_decl(decl, kernel)?;
        let all = decl.profiles(if profiles { max } else { 1 });
        let under_test = SchedulerUnderTest {
            name: decl.name().to_owned(),
            profiles: all.into_iter().map(|p| (p.name(), p.args)).collect(),
        };
        return Ok((arg, under_test));
    }
    let arg = ktstr_runner::resolve_scheduler(value, kernel)?;
    let known = ktstr_scheduler::known(&arg.name).filter(|_| profiles);
    let profiles = match known {
        Some(decl) => decl
            .profiles(max)
            .into_iter()
            .map(|p| {
                let name = p.name();
                (name, arg.args.iter().cloned().chain(p.args).collect())
            })
            .collect(),
        None => vec![("default".to_owned(), arg.args.clone())],
    };
    let under_test = SchedulerUnderTest {
        name: arg.name.clone(),
        profiles,
    };
    Ok((arg, under_test))
}

/// VMs that fit at once: host CPUs over the largest cell's vCPUs (TCG runs
/// each vCPU as a host thread, so more would slow every VM), and memory.
pub fn default_jobs(cells: &[Cell]) -> usize {
    let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_vcpus = cells
        .iter()
        .map(|c| c.topology.cpus() as usize)
        .max()
        .unwrap_or(1);
    let by_cpu = (host_cpus / max_vcpus).max(1);
    let vm_mib = cells
        .iter()
        .map(|c| ktstr_runner::default_memory(&c.topology) as u64 + 256)
        .max()
        .unwrap_or(768);
    let by_mem = (available_mib() / vm_mib).max(1) as usize;
    by_cpu.min(by_mem)
}

/// `MemAvailable` from /proc/meminfo, MiB (1 GiB if unreadable).
fn available_mib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(1024, |kb| kb / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_and_bad_ones_say_how() {
        assert_eq!(parse_budget("20m"), Ok(Duration::from_secs(1200)));
        assert_eq!(parse_budget("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_budget("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_budget("5m30s"), Ok(Duration::from_secs(330)));
        for bad in ["", "0", "m", "5x", "-5m", "99999999999999999999h", "8d"] {
            let err = parse_budget(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_presets_are_named() {
        assert_eq!(resolve_presets(&[]).unwrap().len(), presets().len());
        let err = resolve_presets(&["tiny".into(), "huge".into()]).unwrap_err();
        assert!(err.contains("`huge`"), "{err}");
    }
}
