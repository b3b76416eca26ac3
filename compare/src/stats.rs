//! The statistics of a comparison, for small samples of non-normal data.
//!
//! Why a rank test: a side is typically 3–10 runs under TCG, whose numbers
//! are skewed (a busy host slows some runs, never speeds them up) and have
//! outliers. The Mann–Whitney U test assumes neither normality nor equal
//! variances and is not moved by one outlier; with few runs its p-value is
//! computed exactly over every way the pooled values could split into the two
//! sides (ties included), so it is honest where a t-test's is not. The size
//! of a change is the ratio of medians, with a percentile bootstrap interval
//! (seeded, so a report is reproducible).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use statrs::distribution::{ContinuousCDF, Normal};

/// Pooled sizes up to this many splits get the exact p-value.
const EXACT_SPLITS: u64 = 200_000;
/// Bootstrap resamples per interval.
const BOOTSTRAP_RESAMPLES: usize = 2_000;
const BOOTSTRAP_SEED: u64 = 0x6b74_7374_725f_6162;

/// The result of a two-sided Mann–Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankTest {
    /// The U statistic of the first sample.
    pub u: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Whether `p` is exact (a permutation over every split) or the normal
    /// approximation with tie correction.
    pub exact: bool,
    /// The smallest p-value samples of these sizes can give (distinct
    /// values, complete separation): when it is not below the significance
    /// level, no difference can be detected however large.
    pub min_p: f64,
}

/// The median of `xs` (the mean of the middle two for even lengths).
///
/// ```
/// assert_eq!(ktstr_compare::median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(ktstr_compare::median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Two-sided Mann–Whitney U test of `a` against `b`; `None` when either is
/// empty.
///
/// ```
/// use ktstr_compare::mann_whitney;
///
/// let t = mann_whitney(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
/// assert!(t.exact && (t.p - 2.0 / 252.0).abs() < 1e-12);
/// ```
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<RankTest> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let ranks = midranks(a.iter().chain(b).copied().collect());
    let w: f64 = ranks[..n1].iter().sum();
    let u = w - (n1 * (n1 + 1)) as f64 / 2.0;
    let mean_w = n1 as f64 * (n1 + n2 + 1) as f64 / 2.0;
    let splits = binomial(n1 + n2, n1);
    if splits <= EXACT_SPLITS {
        // Every split of the pooled ranks: how often is the rank sum at least
        // as far from its mean as observed? Tied values keep their midranks.
        let deviations: Vec<f64> = rank_sums(&ranks, n1)
            .into_iter()
            .map(|s| (s - mean_w).abs())
            .collect();
        let total = deviations.len() as f64;
        let observed = (w - mean_w).abs();
        let extreme = deviations.iter().filter(|&&d| d >= observed - 1e-9).count();
        return Some(RankTest {
            u,
            p: extreme as f64 / total,
            exact: true,
            min_p: (2.0 / total).min(1.0),
        });
    }
    // Normal approximation with tie correction and continuity correction.
    let n = (n1 + n2) as f64;
    let ties: f64 = tie_groups(&ranks).iter().map(|&t| t * t * t - t).sum();
    let var_w = n1 as f64 * n2 as f64 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    let z = ((w - mean_w).abs() - 0.5).max(0.0) / var_w.sqrt();
    let normal = Normal::standard();
    let p = if var_w > 0.0 {
        (2.0 * (1.0 - normal.cdf(z))).min(1.0)
    } else {
        1.0
    };
    Some(RankTest {
        u,
        p,
        exact: false,
        min_p: 2.0 / splits as f64,
    })
}

/// A percentile bootstrap interval (95 %) of `median(b) / median(a) - 1`, in
/// percent; `None` when either side is empty or `a`'s resampled medians can
/// be zero.
pub fn bootstrap_change_pct(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut rng = SmallRng::seed_from_u64(BOOTSTRAP_SEED);
    let resample = |xs: &[f64], rng: &mut SmallRng| {
        let picked: Vec<f64> = (0..xs.len())
            .map(|_| xs[rng.gen_range(0..xs.len())])
            .collect();
        median(&picked)
    };
    let mut changes = Vec::with_capacity(BOOTSTRAP_RESAMPLES);
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let ma = resample(a, &mut rng);
        let mb = resample(b, &mut rng);
        if ma == 0.0 {
            return None;
        }
        changes.push((mb / ma - 1.0) * 100.0);
    }
    changes.sort_by(f64::total_cmp);
    let at = |q: f64| changes[((changes.len() - 1) as f64 * q).round() as usize];
    Some((at(0.025), at(0.975)))
}

fn midranks(values: Vec<f64>) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

fn tie_groups(ranks: &[f64]) -> Vec<f64> {
    let mut sorted = ranks.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .chunk_by(|a, b| a == b)
        .filter(|g| g.len() > 1)
        .map(|g| g.len() as f64)
        .collect()
}

/// The rank sum of every `k`-subset of `ranks`.
fn rank_sums(ranks: &[f64], k: usize) -> Vec<f64> {
    fn walk(ranks: &[f64], k: usize, start: usize, sum: f64, out: &mut Vec<f64>) {
        if k == 0 {
            out.push(sum);
            return;
        }
        for i in start..=ranks.len() - k {
            walk(ranks, k - 1, i + 1, sum + ranks[i], out);
        }
    }
    let mut out = Vec::new();
    walk(ranks, k, 0, 0.0, &mut out);
    out
}

fn binomial(n: usize, k: usize) -> u64 {
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        c = c * (n - i) as u128 / (i + 1) as u128;
        if c > u128::from(u64::MAX) {
            return u64::MAX;
        }
    }
    c as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_are_not_different() {
        let t = mann_whitney(&[5.0; 5], &[5.0; 5]).unwrap();
        assert_eq!(t.p, 1.0);
    }

    #[test]
    fn three_runs_a_side_can_never_be_significant() {
        let t = mann_whitney(&[1.0, 2.0, 3.0], &[10.0, 11.0, 12.0]).unwrap();
        assert!((t.p - 0.1).abs() < 1e-12, "{t:?}");
        assert!((t.min_p - 0.1).abs() < 1e-12);
    }

    #[test]
    fn the_exact_p_matches_the_table_for_an_interleaved_split() {
        // a = {1,3,5,7,9}, b = {2,4,6,8,10}: W = 25, mean 27.5; P(|W-27.5| >= 2.5)
        // over the 252 splits of 1..10 is 0.690 (two-sided, from U = 10).
        let t = mann_whitney(&[1.0, 3.0, 5.0, 7.0, 9.0], &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap();
        assert!((t.p - 0.690_476).abs() < 1e-5, "{t:?}");
        assert_eq!(t.u, 10.0);
    }

    #[test]
    fn large_samples_use_the_normal_approximation() {
        let a: Vec<f64> = (0..30).map(f64::from).collect();
        let b: Vec<f64> = (20..50).map(f64::from).collect();
        let t = mann_whitney(&a, &b).unwrap();
        assert!(!t.exact && t.p < 1e-4, "{t:?}");
    }

    #[test]
    fn the_bootstrap_interval_holds_the_change() {
        let a = [100.0, 102.0, 98.0, 101.0, 99.0];
        let b = [80.0, 82.0, 78.0, 81.0, 79.0];
        let (lo, hi) = bootstrap_change_pct(&a, &b).unwrap();
        assert!(
            lo < -20.0 + 3.0 && hi > -20.0 - 3.0 && hi < 0.0,
            "{lo} {hi}"
        );
    }
}
