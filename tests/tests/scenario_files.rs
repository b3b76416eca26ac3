//! Generated scenario files, valid and mutated (zero, huge, negative, empty,
//! wrong-typed, missing and duplicated fields; random bytes): each either
//! validates or is refused with a message that names the field or the line,
//! never a panic; the valid ones become a guest plan, a kernel command line
//! and a QEMU command line without panicking.
//!
//! 10 000 cases per property by default (CI); `PROPTEST_CASES=200000` for a
//! long run. Failures proptest finds are kept in `proptest-regressions/` and
//! replayed first on every run.

use std::path::Path;

use ktstr_model::{catalog, GuestPlan, GuestTask, KernelDetectors, Scenario, Topology};
use ktstr_vmm::{qemu_command_line, Accel, VmSpec};
use proptest::prelude::*;
use toml::Value;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// Every catalog scenario as TOML values, the seeds the mutations start from.
fn seeds() -> &'static [Value] {
    static SEEDS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        catalog::catalog()
            .into_iter()
            .chain(catalog::fault_scenarios())
            .chain(catalog::payload_scenarios())
            .map(|s| toml::from_str(&s.to_toml().unwrap()).unwrap())
            .collect()
    })
}

/// A replacement value for a field: the kinds of bad input a person or a
/// generator writes.
fn bad_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Integer(0)),
        Just(Value::Integer(-1)),
        Just(Value::Integer(i64::MAX)),
        Just(Value::Integer(i64::MIN)),
        Just(Value::Integer(u32::MAX as i64)),
        Just(Value::Integer(u32::MAX as i64 + 1)),
        Just(Value::Integer(100_000)),
        Just(Value::Float(f64::NAN)),
        Just(Value::Float(f64::INFINITY)),
        Just(Value::Float(-0.5)),
        Just(Value::Float(1e300)),
        Just(Value::String(String::new())),
        Just(Value::String("x".repeat(5000))),
        Just(Value::String("../../etc".into())),
        Just(Value::Boolean(true)),
        Just(Value::Array(vec![])),
        Just(Value::Table(Default::default())),
        any::<i64>().prop_map(Value::Integer),
        "[a-z0-9/_-]{0,12}".prop_map(Value::String),
    ]
}

/// One mutation at a path chosen by `pick` (a walk down the value tree).
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    Remove,
    Duplicate,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => bad_value().prop_map(Mutation::Replace),
        2 => Just(Mutation::Remove),
        1 => Just(Mutation::Duplicate),
    ]
}

/// Applies `m` somewhere in `v`, walking down by `picks`; returns the name of
/// the field it changed.
fn mutate(v: &mut Value, picks: &[usize], m: &Mutation) -> String {
    let mut cur = v;
    let mut name = String::from("(root)");
    for (depth, &pick) in picks.iter().enumerate() {
        let stop_here = depth + 1 == picks.len();
        match cur {
            Value::Table(t) if !t.is_empty() => {
                let key = t.keys().nth(pick % t.len()).unwrap().clone();
                let child_is_leaf = !matches!(t[&key], Value::Table(_) | Value::Array(_));
                if stop_here || child_is_leaf {
                    match m {
                        Mutation::Replace(x) => {
                            t.insert(key.clone(), x.clone());
                        }
                        Mutation::Remove => {
                            t.remove(&key);
                        }
                        Mutation::Duplicate => {
                            let x = t[&key].clone();
                            if let Value::Array(a) = t.get_mut(&key).unwrap() {
                                a.push(x.as_array().and_then(|a| a.first().cloned()).unwrap_or(x));
                            } else {
                                t.insert(format!("{key}_again"), x);
                            }
                        }
                    }
                    return key;
                }
                name = key.clone();
                cur = t.get_mut(&key).unwrap();
            }
            Value::Array(a) if !a.is_empty() => {
                let i = pick % a.len();
                if stop_here {
                    match m {
                        Mutation::Replace(x) => a[i] = x.clone(),
                        Mutation::Remove => {
                            a.remove(i);
                        }
                        Mutation::Duplicate => {
                            let x = a[i].clone();
                            a.push(x);
                        }
                    }
                    return name;
                }
                cur = &mut a[i];
            }
            _ => return name,
        }
    }
    name
}

/// Parse, validate, and for valid scenarios build everything a run builds
/// before booting. Returns the error text of a refused file.
fn take(text: &str) -> Option<String> {
    let s = match Scenario::from_toml(text) {
        Ok(s) => s,
        Err(e) => return Some(e.to_string()),
    };
    let topo = s.topology.unwrap_or(Topology::new(1, 2, 2, 1).unwrap());
    if let Err(e) = s.validate(&topo) {
        return Some(e.to_string());
    }
    let plan = GuestPlan {
        topology: topo,
        task: GuestTask::Scenario {
            scenario: Box::new(s.clone()),
            scheduler: None,
        },
        fault: None,
    };
    let bytes = plan.to_bytes();
    assert_eq!(GuestPlan::from_bytes(&bytes).unwrap(), plan);
    let mut spec = VmSpec::new("/k/bzImage".into(), "/k/initramfs".into(), topo);
    spec.memory_mib = (256 * topo.numa_nodes).max(512);
    spec.cmdline_extra = KernelDetectors::for_scenario(&s).cmdline();
    qemu_command_line(&spec, Accel::Tcg, Path::new("/run/ktstr-test"))
        .expect("a validated scenario's VM has a command line");
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Mutated catalog scenarios validate or name what is wrong.
    #[test]
    fn mutated_scenarios_validate_or_name_the_field(
        seed in 0usize..1000,
        picks in proptest::collection::vec(0usize..64, 1..6),
        m in mutation(),
    ) {
        let seeds = seeds();
        let mut v = seeds[seed % seeds.len()].clone();
        let field = mutate(&mut v, &picks, &m);
        let Ok(text) = toml::to_string(&v) else { return Ok(()) };
        if let Some(err) = take(&text) {
            prop_assert!(!err.is_empty());
            // TOML errors carry a line and column; validation errors the field's path.
            let named = err.contains("line ") || err.contains(&field) || err.contains('`') || err.contains('[');
            prop_assert!(named, "mutating `{field}` ({m:?}) gave an error that names nothing: {err}");
        }
    }

    /// Random text and bytes are refused, never a panic.
    #[test]
    fn random_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = take(&text);
    }

    /// Random lines of `key = value` that look like scenario files.
    #[test]
    fn scenario_shaped_text_is_taken_or_refused(
        lines in proptest::collection::vec("(name|duration_ms|description|count|work|cgroups|topology|numa_nodes|llcs) = (\"[a-z]{0,5}\"|-?[0-9]{1,12}|\\{ type = \"spin\" \\}|\\[\\])", 0..12),
    ) {
        let _ = take(&lines.join("\n"));
    }
}

#[test]
fn the_seeds_are_valid() {
    for v in seeds() {
        assert_eq!(take(&toml::to_string(v).unwrap()), None);
    }
}
