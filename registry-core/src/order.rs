//! The order plugins of one registry run in: a plugin runs once every plugin it is `after`
//! (and every plugin that is `before` it) has run; of the plugins free to run, the highest
//! priority goes first, then the first name. Decided once, when the index is built, from the table alone, so it is
//! the same in every build profile and on both backends.
//!
//! A name in `before`/`after` that the registry does not have, or a circle, is an error the
//! index keeps ([`Registry::check`](crate::Registry::check) and every call that needs the
//! order return it); the order is then still total (the plugins left on a circle follow the
//! others, by priority and name), so that listing never fails.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::error::{PluginError, PluginErrorKind};
use crate::plugin::PluginDescriptor;

/// The run order over an index's entries (positions into its name-sorted list).
#[derive(Debug, Default)]
pub(crate) struct RunOrder {
    pub positions: Vec<u32>,
    pub problem: Option<OrderProblem>,
}

/// What is wrong with the `before`/`after` of a registry's plugins.
#[derive(Clone, Debug)]
pub(crate) enum OrderProblem {
    Unknown {
        plugin: &'static str,
        relation: &'static str,
        other: &'static str,
    },
    /// Each runs before the next; the first is repeated last.
    Cycle(Vec<&'static str>),
}

/// Orders `entries` (sorted by name); `position` finds a name among them.
pub(crate) fn run_order<T: ?Sized>(
    entries: &[&'static PluginDescriptor<T>],
    position: impl Fn(&str) -> Option<u32>,
) -> RunOrder {
    let n = entries.len();
    let mut successors: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut predecessors = vec![0u32; n];
    let mut problem = None;
    for (i, d) in entries.iter().enumerate() {
        let edges = d
            .before()
            .iter()
            .map(|name| ("before", *name, true))
            .chain(d.after().iter().map(|name| ("after", *name, false)));
        for (relation, other, this_first) in edges {
            let Some(j) = position(other) else {
                problem.get_or_insert(OrderProblem::Unknown {
                    plugin: d.name(),
                    relation,
                    other,
                });
                continue;
            };
            let (from, to) = if this_first {
                (to_u32(i), j)
            } else {
                (j, to_u32(i))
            };
            successors[from as usize].push(to);
            predecessors[to as usize] += 1;
        }
    }

    // Kahn's algorithm; of the plugins ready to run, the highest priority, then the first
    // name, goes next.
    let key = |p: u32| Reverse((Reverse(entries[p as usize].priority()), p));
    let mut ready: BinaryHeap<_> = (0..to_u32(n))
        .filter(|&p| predecessors[p as usize] == 0)
        .map(key)
        .collect();
    let mut remaining = predecessors.clone();
    let mut positions = Vec::with_capacity(n);
    while let Some(Reverse((_, p))) = ready.pop() {
        positions.push(p);
        for &next in &successors[p as usize] {
            remaining[next as usize] -= 1;
            if remaining[next as usize] == 0 {
                ready.push(key(next));
            }
        }
    }
    if positions.len() < n {
        let mut left: Vec<u32> = (0..to_u32(n))
            .filter(|&p| remaining[p as usize] > 0)
            .collect();
        problem = Some(cycle(entries, &successors, &remaining, left[0]));
        left.sort_by_key(|&p| (Reverse(entries[p as usize].priority()), p));
        positions.extend(left);
    }
    RunOrder { positions, problem }
}

/// A circle through plugins still waiting (each has a waiting predecessor), found by walking
/// predecessors from `start` until one repeats.
fn cycle<T: ?Sized>(
    entries: &[&'static PluginDescriptor<T>],
    successors: &[Vec<u32>],
    remaining: &[u32],
    start: u32,
) -> OrderProblem {
    let waiting_predecessor = |p: u32| {
        (0..successors.len())
            .find(|&q| remaining[q] > 0 && successors[q].contains(&p))
            .map(to_u32)
            .expect("a waiting plugin has a waiting predecessor")
    };
    let mut walk = vec![start];
    let mut current = start;
    loop {
        current = waiting_predecessor(current);
        if let Some(at) = walk.iter().position(|&p| p == current) {
            // `walk[at..]` goes against the edges: reversed, each runs before the next.
            let mut circle: Vec<&'static str> = walk[at..]
                .iter()
                .rev()
                .map(|&p| entries[p as usize].name())
                .collect();
            // Told from its first name, so the message is the same whichever plugin the
            // walk started from.
            let first = (0..circle.len()).min_by_key(|&i| circle[i]).unwrap_or(0);
            circle.rotate_left(first);
            circle.push(circle[0]);
            return OrderProblem::Cycle(circle);
        }
        walk.push(current);
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("fewer than 2^32 plugins")
}

impl RunOrder {
    /// The order's problem as an error, if it has one.
    pub fn check(&self) -> Result<(), PluginError> {
        let kind = match &self.problem {
            None => return Ok(()),
            Some(OrderProblem::Unknown {
                plugin,
                relation,
                other,
            }) => PluginErrorKind::UnknownInOrder {
                plugin: (*plugin).to_owned(),
                relation,
                other: (*other).to_owned(),
            },
            Some(OrderProblem::Cycle(names)) => PluginErrorKind::OrderCycle {
                cycle: names.iter().map(|n| (*n).to_owned()).collect(),
            },
        };
        Err(PluginError::from(kind))
    }
}
