//! Daily sales per product: what the tracker saw leave the shelf (depletion) and what the
//! checkout scanners read (scans), kept apart in the store and merged when read.
//!
//! Layout in the stock table: `sales/{sku}/{YYYY-MM-DD}` (depletion) and
//! `scans/{sku}/{YYYY-MM-DD}` (scans), each a decimal count; the day is UTC. Keys sort by SKU
//! then day, so one product's history is one range read (what the forecaster needs).
//!
//! Merging: every unit a shopper buys leaves the shelf *and* passes a scanner, so adding the
//! two counts would count it twice. Each source misses units in its own way: depletion misses
//! what left while the camera was blind and the scale absent, scans miss a scanner that was
//! offline and checkouts that have none. Each is therefore close to a lower bound of the real
//! figure, and the day's sales are the larger of the two, with the source that gave it.

use super::service::TABLE;
use crate::store::{Batch, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// Key prefix of the depletion counts.
pub const DEPLETION: &str = "sales";
/// Key prefix of the scan counts.
pub const SCANS: &str = "scans";

/// Entries read per store call when scanning the table.
const PAGE: usize = 1024;

/// One product's sales on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaySales {
    /// Product.
    pub sku: String,
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Units sold: the larger of `depletion` and `scans`.
    pub units: u64,
    /// Units the tracker saw leave the shelf.
    pub depletion: u64,
    /// Units the checkout scanners read.
    pub scans: u64,
    /// Which count `units` is: `scans`, `depletion`, or `both` when they agree.
    pub source: &'static str,
}

impl DaySales {
    /// Merges the two counts of `sku` on `day`.
    pub fn merge(sku: &str, day: &str, depletion: u64, scans: u64) -> DaySales {
        let source = match depletion.cmp(&scans) {
            std::cmp::Ordering::Greater => "depletion",
            std::cmp::Ordering::Less => "scans",
            std::cmp::Ordering::Equal => "both",
        };
        DaySales {
            sku: sku.to_string(),
            day: day.to_string(),
            units: depletion.max(scans),
            depletion,
            scans,
            source,
        }
    }
}

/// The UTC day of `t`, `YYYY-MM-DD`.
pub fn day_of(t: SystemTime) -> String {
    crate::clock::rfc3339(t)
        .get(..10)
        .unwrap_or("unknown")
        .to_string()
}

/// Whether `day` is a `YYYY-MM-DD` date (digits and dashes in place, month 1-12, day 1-31).
pub fn valid_day(day: &str) -> bool {
    let b = day.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = day.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    matches!(
        (digits(0..4), digits(5..7), digits(8..10)),
        (Some(_), Some(1..=12), Some(1..=31))
    )
}

/// Adds `counts` to the per-SKU, per-day totals `{kind}/{sku}/{day}` of the stock table; the
/// day is `now`'s UTC date. `kind` is [`DEPLETION`] or [`SCANS`].
pub fn add_daily_counts(
    store: &Store,
    kind: &str,
    counts: &[(String, u64)],
    now: SystemTime,
) -> Result<(), StoreError> {
    let day = day_of(now);
    // One put per key: a batch reads nothing back, so the same SKU twice is summed first.
    let mut sums: BTreeMap<&str, u64> = BTreeMap::new();
    for (sku, n) in counts {
        *sums.entry(sku.as_str()).or_default() += n;
    }
    let mut batch = Batch::new();
    for (sku, n) in sums {
        let key = format!("{kind}/{sku}/{day}");
        let before = count(store, &key);
        batch.put(TABLE, key.as_bytes(), (before + n).to_string().as_bytes());
    }
    store.commit(batch).map(|_| ())
}

/// The stored count under `key` of the stock table, 0 when none (or unreadable).
fn count(store: &Store, key: &str) -> u64 {
    store
        .get(TABLE, key.as_bytes())
        .ok()
        .flatten()
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
}

/// The sales of each of `skus` on `day` (products with nothing on either count included).
pub fn for_skus<'a>(
    store: &Store,
    skus: impl IntoIterator<Item = &'a str>,
    day: &str,
) -> Vec<DaySales> {
    skus.into_iter()
        .map(|sku| {
            DaySales::merge(
                sku,
                day,
                count(store, &format!("{DEPLETION}/{sku}/{day}")),
                count(store, &format!("{SCANS}/{sku}/{day}")),
            )
        })
        .collect()
}

/// Every product with a count on `day`, by SKU.
pub fn on_day(store: &Store, day: &str) -> Result<Vec<DaySales>, StoreError> {
    let mut found: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for kind in [DEPLETION, SCANS] {
        for_each_count(store, kind, |sku, d, n| {
            if d == day {
                let e = found.entry(sku.to_string()).or_default();
                if kind == DEPLETION {
                    e.0 = n;
                } else {
                    e.1 = n;
                }
            }
        })?;
    }
    Ok(found
        .into_iter()
        .map(|(sku, (depletion, scans))| DaySales::merge(&sku, day, depletion, scans))
        .collect())
}

/// One product's sales per day, oldest first, over the days with any count.
pub fn history(store: &Store, sku: &str) -> Result<Vec<DaySales>, StoreError> {
    let mut found: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for kind in [DEPLETION, SCANS] {
        let prefix = format!("{kind}/{sku}/");
        // Start just before the prefix: `scan` returns keys after `after`.
        let mut after = format!("{kind}/{sku}").into_bytes();
        'pages: loop {
            let page = store.scan(TABLE, Some(&after), PAGE)?;
            let full = page.len() == PAGE;
            for (k, v) in &page {
                let Some(day) = std::str::from_utf8(k)
                    .ok()
                    .and_then(|k| k.strip_prefix(&prefix))
                else {
                    if k.as_slice() > prefix.as_bytes() {
                        break 'pages;
                    }
                    continue;
                };
                let n = parse_count(v);
                let e = found.entry(day.to_string()).or_default();
                if kind == DEPLETION {
                    e.0 = n;
                } else {
                    e.1 = n;
                }
            }
            match page.last() {
                Some((k, _)) if full => after = k.clone(),
                _ => break,
            }
        }
    }
    Ok(found
        .into_iter()
        .map(|(day, (depletion, scans))| DaySales::merge(sku, &day, depletion, scans))
        .collect())
}

/// Calls `f(sku, day, count)` for every `{kind}/{sku}/{day}` entry, in key order.
fn for_each_count(
    store: &Store,
    kind: &str,
    mut f: impl FnMut(&str, &str, u64),
) -> Result<(), StoreError> {
    let prefix = format!("{kind}/");
    let mut after = kind.as_bytes().to_vec();
    loop {
        let page = store.scan(TABLE, Some(&after), PAGE)?;
        let full = page.len() == PAGE;
        for (k, v) in &page {
            let Ok(key) = std::str::from_utf8(k) else {
                continue;
            };
            let Some(rest) = key.strip_prefix(&prefix) else {
                if key > prefix.as_str() {
                    return Ok(());
                }
                continue;
            };
            // The day is the last 10 characters; a SKU may itself contain '/'.
            if let Some((sku, day)) = rest.rsplit_once('/') {
                f(sku, day, parse_count(v));
            }
        }
        match page.last() {
            Some((k, _)) if full => after = k.clone(),
            _ => return Ok(()),
        }
    }
}

fn parse_count(v: &[u8]) -> u64 {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &Default::default()).unwrap().store;
        (dir, store)
    }

    /// 2026-11-23 12:00 UTC plus `days`.
    fn noon(days: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_435_200 + days * 86_400)
    }

    #[test]
    fn the_larger_count_wins_and_names_its_source() {
        assert_eq!(DaySales::merge("A", "d", 5, 3).units, 5);
        assert_eq!(DaySales::merge("A", "d", 5, 3).source, "depletion");
        assert_eq!(DaySales::merge("A", "d", 2, 7).source, "scans");
        assert_eq!(DaySales::merge("A", "d", 4, 4).source, "both");
        assert_eq!(DaySales::merge("A", "d", 4, 4).units, 4);
    }

    #[test]
    fn days_are_checked() {
        assert!(valid_day("2026-11-23"));
        for bad in [
            "2026-13-01",
            "2026-11-32",
            "2026-1-23",
            "20261123xx",
            "abcd-ef-gh",
            "",
            "2026-11-2\u{e9}",
        ] {
            assert!(!valid_day(bad), "{bad}");
        }
    }

    #[test]
    fn counts_add_up_per_day_and_merge_when_read() {
        let (_dir, store) = store();
        let day0 = day_of(noon(0));
        assert_eq!(day0, "2026-11-23");
        let c = |sku: &str, n| (sku.to_string(), n);
        add_daily_counts(
            &store,
            DEPLETION,
            &[c("A", 2), c("A", 1), c("B", 4)],
            noon(0),
        )
        .unwrap();
        add_daily_counts(&store, DEPLETION, &[c("A", 1)], noon(0)).unwrap();
        add_daily_counts(&store, SCANS, &[c("A", 6), c("C", 1)], noon(0)).unwrap();
        add_daily_counts(&store, DEPLETION, &[c("A", 9)], noon(1)).unwrap();

        let day = on_day(&store, &day0).unwrap();
        assert_eq!(
            day,
            vec![
                DaySales::merge("A", &day0, 4, 6),
                DaySales::merge("B", &day0, 4, 0),
                DaySales::merge("C", &day0, 0, 1),
            ]
        );
        assert_eq!(day[0].units, 6);
        let next = on_day(&store, &day_of(noon(1))).unwrap();
        assert_eq!(next, vec![DaySales::merge("A", "2026-11-24", 9, 0)]);
        assert!(on_day(&store, "2026-11-25").unwrap().is_empty());

        let a = history(&store, "A").unwrap();
        assert_eq!(
            a,
            vec![
                DaySales::merge("A", "2026-11-23", 4, 6),
                DaySales::merge("A", "2026-11-24", 9, 0),
            ]
        );
        // "A" is a prefix of "AB": its history is not A's.
        add_daily_counts(&store, DEPLETION, &[c("AB", 3)], noon(0)).unwrap();
        assert_eq!(history(&store, "A").unwrap().len(), 2);
        assert_eq!(history(&store, "AB").unwrap().len(), 1);

        let listed = for_skus(&store, ["A", "Z"], &day0);
        assert_eq!(listed[0].units, 6);
        assert_eq!(listed[1], DaySales::merge("Z", &day0, 0, 0));
    }

    #[test]
    fn a_history_longer_than_a_page_is_read_whole() {
        let (_dir, store) = store();
        for d in 0..(PAGE as u64 + 10) {
            add_daily_counts(&store, DEPLETION, &[("A".into(), 1)], noon(d)).unwrap();
        }
        add_daily_counts(&store, DEPLETION, &[("B".into(), 1)], noon(0)).unwrap();
        let a = history(&store, "A").unwrap();
        assert_eq!(a.len(), PAGE + 10);
        assert!(a.windows(2).all(|w| w[0].day < w[1].day));
        assert_eq!(on_day(&store, "2026-11-23").unwrap().len(), 2);
    }

    #[test]
    fn a_damaged_count_reads_as_zero() {
        let (_dir, store) = store();
        let mut batch = Batch::new();
        batch.put(TABLE, b"sales/A/2026-11-23", b"\xffnot a number");
        store.commit(batch).unwrap();
        assert_eq!(on_day(&store, "2026-11-23").unwrap()[0].depletion, 0);
        add_daily_counts(&store, DEPLETION, &[("A".into(), 2)], noon(0)).unwrap();
        assert_eq!(on_day(&store, "2026-11-23").unwrap()[0].depletion, 2);
    }
}
