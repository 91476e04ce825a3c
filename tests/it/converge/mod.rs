//! The convergence checker: model-based, randomised, reproducible by seed.
//!
//! Each schedule starts a fresh nats-server, database and simulated upstream, runs the real
//! worker binary, and interleaves at random: upstream changes (prices and stock, renames,
//! deletions, additions, some timed to land *during* a full sync), product events with and
//! without a product, with and without versions, duplicated, delayed and reordered, full and
//! targeted sync requests, worker SIGKILL and restart, nats-server restart, PostgreSQL
//! connections killed, windows where the database is read-only (every session replaced by a
//! read-only one, and the pools' sessions left read-only after it ends), events dated years
//! ahead, and upstream 429s, 500s, timeouts and truncated bodies. Then the bus is drained, one
//! full sync runs, and every product row is compared field by field with the upstream (and
//! every summary's counts must add up). Any difference fails with the seed and a minimal diff.
//!
//! `CONVERGE_SCHEDULES` (default 3) and `CONVERGE_SEED` (default fixed) choose the schedules;
//! `scripts/converge --schedules N --seed S` runs long ones. Timing still varies from run to
//! run (it is a concurrent system), so a seed reproduces the schedule, not every interleaving.

mod compare;
mod schedule;

use std::time::{Duration, Instant};

use crate::support::init;

/// Seed of the first schedule when `CONVERGE_SEED` is not set.
const DEFAULT_SEED: u64 = 20_261_201;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
        Err(_) => default,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_converges_to_the_upstream_under_random_faults() {
    init();
    let schedules = env_u64("CONVERGE_SCHEDULES", 3);
    let first_seed = env_u64("CONVERGE_SEED", DEFAULT_SEED);
    let operations = env_u64("CONVERGE_OPERATIONS", 40) as usize;
    let started = Instant::now();
    let mut totals = schedule::Tally::default();
    for n in 0..schedules {
        let seed = first_seed + n;
        let report = schedule::run(seed, operations).await;
        eprintln!(
            "converge: schedule {}/{schedules} seed {seed}: {} in {:.1} s",
            n + 1,
            report.tally,
            report.elapsed.as_secs_f64()
        );
        if let Some(diff) = report.failure {
            panic!(
                "schedule with seed {seed} did not converge (rerun: scripts/converge --schedules 1 --seed {seed}):\n{diff}\nlast operations:\n{}",
                report.log.join("\n")
            );
        }
        totals.add(&report.tally);
    }
    eprintln!(
        "converge: {schedules} schedules from seed {first_seed} converged in {:.0} s: {totals}",
        started.elapsed().as_secs_f64()
    );
    assert!(started.elapsed() < Duration::from_secs(24 * 3600));
}
