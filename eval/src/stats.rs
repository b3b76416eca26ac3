//! Small statistics over samples.

/// The nearest-rank `p`th percentile (`0 < p <= 100`) of `values`: the
/// smallest sample with at least `p` percent of the samples at or below it.
/// `None` when there are no samples.
pub(crate) fn percentile(values: &[u64], p: f64) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let rank = (p.clamp(0.0, 100.0) / 100.0 * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// The arithmetic mean; `None` when empty.
pub(crate) fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        Some(values.iter().sum::<f64>() / values.len() as f64)
    }
}

/// The median (mean of the two middle samples for an even count); `None` when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
}

/// `(max - min) / mean` in percent; `None` when empty or the mean is not positive.
pub(crate) fn spread_pct(values: &[f64]) -> Option<f64> {
    let m = mean(values)?;
    if m <= 0.0 {
        return None;
    }
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    Some((max - min) / m * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&[7, 3], 50.0), Some(3));
        assert_eq!(percentile(&[7, 3], 51.0), Some(7));
        assert_eq!(percentile(&[5], 0.0), Some(5));
        assert_eq!(percentile(&[], 99.0), None);
    }

    #[test]
    fn mean_median_spread() {
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
        assert_eq!(mean(&[]), None);
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(spread_pct(&[90.0, 110.0]), Some(20.0));
        assert_eq!(spread_pct(&[5.0]), Some(0.0));
        assert_eq!(spread_pct(&[0.0, 0.0]), None);
        assert_eq!(spread_pct(&[]), None);
    }

    proptest! {
        #[test]
        fn percentile_is_a_sample_and_monotonic(
            v in proptest::collection::vec(0u64..1_000_000, 1..200),
            p in 1.0f64..100.0,
        ) {
            let a = percentile(&v, p).unwrap();
            let b = percentile(&v, (p + 1.0).min(100.0)).unwrap();
            prop_assert!(v.contains(&a));
            prop_assert!(a <= b);
            prop_assert_eq!(percentile(&v, 100.0), v.iter().copied().max());
        }

        #[test]
        fn spread_is_non_negative_and_zero_for_equal(x in 1.0f64..1e9, n in 1usize..20) {
            prop_assert_eq!(spread_pct(&vec![x; n]), Some(0.0));
            let s = spread_pct(&[x, x * 2.0]).unwrap();
            prop_assert!((s - 100.0 / 1.5).abs() < 1e-6);
        }
    }
}
