//! Choosing cells within a time budget: greedy by new coverage per
//! expected second.
//!
//! A cell covers three values (its scenario, its preset, its scheduler
//! profile) and three pairs of them. The first cells chosen are those that
//! add values nobody has covered yet, cheapest first; then those that add
//! new pairs; then the rest. So a small budget still touches every
//! scenario, every preset and every profile once before it repeats any.

use std::collections::HashSet;
use std::time::Duration;

use crate::{Cell, Durations};

/// Weight of one value not covered before.
const NEW_VALUE: f64 = 100.0;
/// Weight of one pair of values not seen together before.
const NEW_PAIR: f64 = 10.0;
/// Every cell is worth a little: with budget to spare, run everything.
const ANY_CELL: f64 = 1.0;

/// The cells to run, most informative first: all of them without a
/// budget, else a greedy choice whose expected total fits `budget`.
pub fn select(cells: &[Cell], budget: Option<Duration>, durations: &Durations) -> Vec<Cell> {
    match budget {
        Some(b) => greedy(cells, b.as_secs_f64(), durations),
        None => cells.to_vec(),
    }
}

/// Every cell, most informative per expected second first: the order to
/// run a budget in when cells may take less (or more) than expected, so a
/// runner can keep taking the next cell that still fits.
pub fn rank(cells: &[Cell], durations: &Durations) -> Vec<Cell> {
    greedy(cells, f64::INFINITY, durations)
}

fn greedy(cells: &[Cell], limit: f64, durations: &Durations) -> Vec<Cell> {
    let cost: Vec<f64> = cells
        .iter()
        .map(|c| durations.estimate(c).as_secs_f64().max(0.001))
        .collect();
    let mut left: Vec<usize> = (0..cells.len()).collect();
    let mut chosen = Vec::new();
    let mut spent = 0.0;
    let mut seen = Coverage::default();
    loop {
        let best = left
            .iter()
            .enumerate()
            .filter(|(_, &i)| spent + cost[i] <= limit)
            .map(|(pos, &i)| (pos, seen.gain(&cells[i]) / cost[i]))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let Some((pos, _)) = best else { break };
        let i = left.remove(pos);
        spent += cost[i];
        seen.add(&cells[i]);
        chosen.push(cells[i].clone());
    }
    chosen
}

#[derive(Default)]
struct Coverage {
    values: HashSet<(u8, String)>,
    pairs: HashSet<(u8, String, String)>,
}

impl Coverage {
    fn keys(c: &Cell) -> [String; 3] {
        [c.scenario.clone(), c.preset.clone(), c.scheduler_label()]
    }

    fn gain(&self, c: &Cell) -> f64 {
        let k = Coverage::keys(c);
        let values = (0..3u8)
            .filter(|&i| !self.values.contains(&(i, k[i as usize].clone())))
            .count();
        let pairs = Coverage::pair_keys(&k)
            .into_iter()
            .filter(|p| !self.pairs.contains(p))
            .count();
        NEW_VALUE * values as f64 + NEW_PAIR * pairs as f64 + ANY_CELL
    }

    fn add(&mut self, c: &Cell) {
        let k = Coverage::keys(c);
        for i in 0..3u8 {
            self.values.insert((i, k[i as usize].clone()));
        }
        self.pairs.extend(Coverage::pair_keys(&k));
    }

    fn pair_keys(k: &[String; 3]) -> [(u8, String, String); 3] {
        [
            (0, k[0].clone(), k[1].clone()),
            (1, k[0].clone(), k[2].clone()),
            (2, k[1].clone(), k[2].clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktstr_model::Topology;

    fn cell(scenario: &str, preset: &str, profile: &str, ms: u64) -> Cell {
        Cell {
            scenario: scenario.into(),
            preset: preset.into(),
            topology: "1,2,2,1".parse::<Topology>().unwrap(),
            scheduler: "s".into(),
            profile: profile.into(),
            args: Vec::new(),
            scenario_ms: ms,
        }
    }

    fn grid() -> Vec<Cell> {
        let mut cells = Vec::new();
        for s in ["a", "b", "c", "d"] {
            for p in ["p1", "p2", "p3"] {
                for f in ["default", "x"] {
                    cells.push(cell(s, p, f, 2000));
                }
            }
        }
        cells
    }

    #[test]
    fn no_budget_runs_everything_in_plan_order() {
        let cells = grid();
        assert_eq!(select(&cells, None, &Durations::default()), cells);
    }

    #[test]
    fn a_small_budget_covers_every_value_before_repeating() {
        let cells = grid();
        let d = Durations::default();
        let one = d.estimate(&cells[0]).as_secs_f64();
        // Room for 4 cells: enough to touch 4 scenarios, 3 presets, 2 profiles.
        let chosen = select(&cells, Some(Duration::from_secs_f64(one * 4.0 + 0.1)), &d);
        assert_eq!(chosen.len(), 4);
        let distinct = |f: fn(&Cell) -> &str| chosen.iter().map(f).collect::<HashSet<_>>().len();
        assert_eq!(distinct(|c| &c.scenario), 4);
        assert_eq!(distinct(|c| &c.preset), 3);
        assert_eq!(distinct(|c| &c.profile), 2);
        let total: f64 = chosen.iter().map(|c| d.estimate(c).as_secs_f64()).sum();
        assert!(total <= one * 4.0 + 0.1);
    }

    #[test]
    fn ranking_orders_everything_and_starts_like_the_budgeted_choice() {
        let cells = grid();
        let d = Durations::default();
        let ranked = rank(&cells, &d);
        assert_eq!(ranked.len(), cells.len());
        let one = d.estimate(&cells[0]).as_secs_f64();
        let chosen = select(&cells, Some(Duration::from_secs_f64(one * 4.0 + 0.1)), &d);
        assert_eq!(&ranked[..4], &chosen[..]);
    }

    #[test]
    fn cheap_cells_win_at_equal_coverage_and_nothing_exceeds_the_budget() {
        let cells = vec![
            cell("a", "p1", "default", 20_000),
            cell("a", "p1", "default", 1_000),
        ];
        let d = Durations::default();
        let budget = d.estimate(&cells[1]) + Duration::from_millis(10);
        let chosen = select(&cells, Some(budget), &d);
        assert_eq!(chosen, [cells[1].clone()]);
        assert!(select(&cells, Some(Duration::from_millis(1)), &d).is_empty());
    }
}
