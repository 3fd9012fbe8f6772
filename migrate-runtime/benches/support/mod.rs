//! What the benchmarks share: the medians-and-ratio report.

use std::time::Duration;

/// Prints the medians of a baseline and a measurement and their ratio.
pub fn report(what: &str, baseline: &[Duration], measured: &[Duration]) {
    let median = |d: &[Duration]| {
        let mut d = d.to_vec();
        d.sort();
        d[d.len() / 2]
    };
    let (b, m) = (median(baseline), median(measured));
    println!(
        "{what}: baseline {:.2} ms, cargo-migrate {:.2} ms, ratio {:.3}x (medians of {} rounds)",
        b.as_secs_f64() * 1e3,
        m.as_secs_f64() * 1e3,
        m.as_secs_f64() / b.as_secs_f64(),
        baseline.len()
    );
}
