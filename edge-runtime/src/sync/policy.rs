//! The outbox "when full" policy as a pure function over queue sizes, so it is tested
//! without a disk: make room by dropping the oldest messages of the lowest class first, never a
//! message of a higher class than the incoming one; if that cannot make room, drop the incoming.

use super::Class;

/// What the policy decided for one incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// How many of the oldest queued messages to drop, per class (index = `Class as usize`).
    pub drop_oldest: [usize; 3],
    /// Whether the incoming message itself is dropped.
    pub drop_incoming: bool,
}

/// Decides how to fit a message of `class` and `size` bytes into a queue bounded by `max_bytes`.
///
/// `queued(c)` yields the sizes of class `c`'s queued messages, oldest first; `total` is the
/// sum of all queued sizes.
pub fn make_room<'a, I>(
    class: Class,
    size: u64,
    total: u64,
    max_bytes: u64,
    mut queued: impl FnMut(Class) -> I,
) -> Decision
where
    I: Iterator<Item = u64> + 'a,
{
    let mut decision = Decision {
        drop_oldest: [0; 3],
        drop_incoming: false,
    };
    if size > max_bytes {
        decision.drop_incoming = true;
        return decision;
    }
    let mut total = total;
    for victim in Class::ALL {
        if total + size <= max_bytes || victim > class {
            break;
        }
        for s in queued(victim) {
            if total + size <= max_bytes {
                break;
            }
            total -= s;
            decision.drop_oldest[victim as usize] += 1;
        }
    }
    if total + size > max_bytes {
        // Even dropping every lower-or-equal message does not fit it: keep the queue as it is.
        decision.drop_oldest = [0; 3];
        decision.drop_incoming = true;
    }
    decision
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // index loops mirror the per-class arrays
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decide(queues: &[Vec<u64>; 3], class: Class, size: u64, max: u64) -> Decision {
        let total = queues.iter().flatten().sum();
        make_room(class, size, total, max, |c| {
            queues[c as usize].clone().into_iter()
        })
    }

    #[test]
    fn fits_without_dropping() {
        let q = [vec![10], vec![10], vec![10]];
        let d = decide(&q, Class::Health, 10, 40);
        assert_eq!(d.drop_oldest, [0, 0, 0]);
        assert!(!d.drop_incoming);
    }

    #[test]
    fn health_goes_before_state_before_critical() {
        let q = [vec![10, 10], vec![10, 10], vec![10]];
        let d = decide(&q, Class::Critical, 30, 50);
        assert_eq!(d.drop_oldest, [2, 1, 0]);
        assert!(!d.drop_incoming);
    }

    #[test]
    fn a_low_class_message_never_displaces_a_higher_one() {
        let q = [vec![], vec![], vec![10, 10, 10]];
        let d = decide(&q, Class::Health, 10, 30);
        assert_eq!(d.drop_oldest, [0, 0, 0]);
        assert!(d.drop_incoming);
    }

    #[test]
    fn oversized_message_is_dropped_alone() {
        let q = [vec![10], vec![], vec![]];
        let d = decide(&q, Class::Critical, 100, 50);
        assert_eq!(d.drop_oldest, [0, 0, 0]);
        assert!(d.drop_incoming);
    }

    proptest! {
        #[test]
        fn never_exceeds_the_bound_and_drops_only_what_it_must(
            queues in proptest::array::uniform3(proptest::collection::vec(1u64..50, 0..20)),
            class in 0usize..3,
            size in 1u64..120,
            slack in 0u64..200,
        ) {
            let class = Class::ALL[class];
            let total: u64 = queues.iter().flatten().sum();
            let max = total + slack / 2; // the queue already fits its bound
            let d = decide(&queues, class, size, max);
            let dropped: u64 = (0..3)
                .map(|c| queues[c].iter().take(d.drop_oldest[c]).sum::<u64>())
                .sum();
            if d.drop_incoming {
                prop_assert_eq!(d.drop_oldest, [0, 0, 0]);
                // Only when even emptying every lower-or-equal class would not make room.
                let movable: u64 = (0..=class as usize).map(|c| queues[c].iter().sum::<u64>()).sum();
                prop_assert!(total - movable + size > max);
            } else {
                prop_assert!(total - dropped + size <= max);
                for c in (class as usize + 1)..3 {
                    prop_assert_eq!(d.drop_oldest[c], 0, "dropped a higher class");
                }
                // A class is touched only once every lower class is empty.
                for c in 1..3 {
                    if d.drop_oldest[c] > 0 {
                        for lower in 0..c {
                            prop_assert_eq!(d.drop_oldest[lower], queues[lower].len());
                        }
                    }
                }
                // No more than needed: without the last drop it would not fit.
                if dropped > 0 {
                    let last = (0..3).rev().find(|&c| d.drop_oldest[c] > 0).unwrap();
                    let last_size = queues[last][d.drop_oldest[last] - 1];
                    prop_assert!(total - (dropped - last_size) + size > max);
                }
            }
        }
    }
}
