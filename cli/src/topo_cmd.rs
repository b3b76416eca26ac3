//! `ktstr topo`: the named topology presets that `--topology` accepts.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ktstr_model::{presets, Preset, Topology};
use serde::Serialize;

use crate::CmdResult;

#[derive(Subcommand)]
pub(crate) enum TopoCommand {
    /// List the topology presets, by CPU count.
    List(ListArgs),
}

#[derive(Args)]
pub(crate) struct ListArgs {
    /// Print JSON: an array with one object per preset.
    #[arg(long)]
    json: bool,
}

/// One preset as `ktstr topo list --json` prints it.
#[derive(Debug, Serialize)]
struct PresetEntry {
    /// The name `--topology` accepts.
    name: &'static str,
    /// The same shape as `N,L,C,T`.
    spec: String,
    /// `numa_nodes`, `llcs`, `cores_per_llc` and `threads_per_core`.
    #[serde(flatten)]
    topology: Topology,
    /// Logical CPUs.
    cpus: u32,
    /// Whether cores have more than one hardware thread.
    smt: bool,
    /// One sentence on what the shape exercises.
    description: &'static str,
}

impl From<&Preset> for PresetEntry {
    fn from(p: &Preset) -> Self {
        PresetEntry {
            name: p.name,
            spec: p.topology.spec(),
            topology: p.topology,
            cpus: p.topology.cpus(),
            smt: p.topology.threads_per_core > 1,
            description: p.description,
        }
    }
}

pub(crate) fn run(c: TopoCommand) -> CmdResult {
    match c {
        TopoCommand::List(a) => {
            if a.json {
                let entries: Vec<PresetEntry> = presets().iter().map(PresetEntry::from).collect();
                crate::failure::print_json(&entries)?;
            } else {
                print!("{}", render(presets()));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The human table: a header, then one row per preset.
fn render(presets: &[Preset]) -> String {
    let name_w = presets
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let spec_w = presets
        .iter()
        .map(|p| p.topology.spec().len())
        .max()
        .unwrap_or(0)
        .max(7);
    let mut out = String::new();
    let mut row = |name: &str, spec: &str, cpus: &str, llcs: &str, nodes: &str, smt, desc| {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{name:<name_w$}  {spec:<spec_w$}  {cpus:>4}  {llcs:>4}  {nodes:>5}  {smt:<3}  {desc}"
        );
    };
    row(
        "NAME",
        "N,L,C,T",
        "CPUS",
        "LLCS",
        "NODES",
        "SMT",
        "DESCRIPTION",
    );
    for p in presets {
        let t = &p.topology;
        row(
            p.name,
            &t.spec(),
            &t.cpus().to_string(),
            &t.llcs.to_string(),
            &t.numa_nodes.to_string(),
            if t.threads_per_core > 1 { "yes" } else { "no" },
            p.description,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_list_snapshot() {
        let expected = "\
NAME       N,L,C,T   CPUS  LLCS  NODES  SMT  DESCRIPTION
tiny       1,1,2,1      2     1      1  no   Two cores sharing one LLC: the smallest machine where tasks can migrate.
smt-pair   1,1,1,2      2     1      1  yes  One core with two SMT siblings: both CPUs share a core and its caches.
llc-pair   1,2,2,1      4     2      1  no   Two LLCs of two cores: the smallest LLC boundary, and the default topology.
numa2      2,2,2,1      4     2      2  no   Two NUMA nodes of one two-core LLC each: the smallest node boundary.
one-llc    1,1,8,1      8     1      1  no   Eight cores in one LLC: a flat machine with no cache boundary to respect.
smt-llcs   1,2,2,2      8     2      1  yes  Two LLCs of two SMT cores: siblings and LLC boundaries together.
numa4      4,4,2,1      8     4      4  no   Four NUMA nodes of one two-core LLC each: more nodes than a pair to pick from.
odd        1,3,3,1      9     3      1  no   Three LLCs of three cores: nine CPUs, so halves and quarters are uneven.
many-llcs  1,8,2,1     16     8      1  no   Eight LLCs of two cores on one node: many small cache domains to balance.
numa2-smt  2,4,2,2     16     4      2  yes  Two nodes of two LLCs of two SMT cores: every level of the hierarchy.
odd-numa   2,6,3,1     18     6      2  no   Two nodes of three LLCs of three cores: uneven shapes across a node boundary.
wide-llcs  1,2,16,1    32     2      1  no   Two LLCs of sixteen cores: wide cache domains with much balancing inside each.
numa4-smt  4,8,2,2     32     8      4  yes  Four nodes of two LLCs of two SMT cores: a small four-socket server.
chiplets   1,8,8,1     64     8      1  no   Eight LLCs of eight cores on one node: a chiplet desktop or server socket.
big-numa   2,8,8,2    128     8      2  yes  Two nodes of four LLCs of eight SMT cores: the largest guest, 128 CPUs.
";
        let got = render(presets());
        assert_eq!(got, expected, "got:\n{got}");
    }

    #[test]
    fn json_list_is_an_array_of_documented_entries() {
        let entries: Vec<PresetEntry> = presets().iter().map(PresetEntry::from).collect();
        let value = serde_json::to_value(&entries).unwrap();
        let items = value.as_array().unwrap();
        assert_eq!(items.len(), presets().len());
        assert_eq!(
            items[2],
            serde_json::json!({
                "name": "llc-pair",
                "spec": "1,2,2,1",
                "numa_nodes": 1,
                "llcs": 2,
                "cores_per_llc": 2,
                "threads_per_core": 1,
                "cpus": 4,
                "smt": false,
                "description": "Two LLCs of two cores: the smallest LLC boundary, and the default topology."
            })
        );
        let last = items.last().unwrap();
        assert_eq!(last["name"], "big-numa");
        assert_eq!(last["cpus"], 128);
        assert_eq!(last["smt"], true);
        // Every entry names a topology that parses back to itself.
        for (item, p) in items.iter().zip(presets()) {
            let spec = item["spec"].as_str().unwrap();
            assert_eq!(Topology::parse_or_preset(spec), Ok(p.topology));
            assert_eq!(
                Topology::parse_or_preset(item["name"].as_str().unwrap()),
                Ok(p.topology)
            );
        }
    }
}
