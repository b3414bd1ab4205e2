//! `PersistentMap`: a sorted map from names whose copies share every node they do not change.
//!
//! The runtime overlay (`overlay.rs`) is copied by each writer and swapped in whole, so that
//! readers keep the snapshot they loaded. A plain map would make that copy O(n) per
//! registration; this one copies the O(log n) nodes on the path it changes.
//!
//! Written here rather than taken from a persistent-collections crate: those crates bring 4 to
//! 9 crates each (SIMD, random numbers, custom reference counts) to a host that promises to
//! compile in at most 25, and the overlay needs only five operations on string keys. It is an
//! AVL tree over `Arc` nodes; each entry sits in its own `Arc`, so copying a path copies
//! pointers, never a key or a value. `tests` checks it against `BTreeMap` with `proptest`.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

type Tree<V> = Option<Arc<Node<V>>>;

/// A key and its value, held in the node itself: a lookup reads the node and the key's bytes,
/// nothing else. Copying one (on a path a snapshot shares) copies a pointer and the value.
#[derive(Clone)]
struct Entry<V> {
    key: Arc<str>,
    value: V,
}

struct Node<V> {
    entry: Entry<V>,
    left: Tree<V>,
    right: Tree<V>,
    height: u8,
}

/// A shallow copy: the same key, a copy of the value, the same subtrees (what `Arc::make_mut`
/// copies on a shared path).
impl<V: Clone> Clone for Node<V> {
    fn clone(&self) -> Self {
        Node {
            entry: self.entry.clone(),
            left: self.left.clone(),
            right: self.right.clone(),
            height: self.height,
        }
    }
}

/// A persistent map from `String` keys, iterated in key order. Cloning is O(1).
pub(crate) struct PersistentMap<V> {
    root: Tree<V>,
    len: usize,
}

impl<V> Clone for PersistentMap<V> {
    fn clone(&self) -> Self {
        Self {
            root: self.root.clone(),
            len: self.len,
        }
    }
}

impl<V> Default for PersistentMap<V> {
    fn default() -> Self {
        Self { root: None, len: 0 }
    }
}

impl<V: fmt::Debug> fmt::Debug for PersistentMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> PersistentMap<V> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        let mut at = self.root.as_deref();
        while let Some(node) = at {
            at = match key.cmp(&*node.entry.key) {
                Ordering::Less => node.left.as_deref(),
                Ordering::Greater => node.right.as_deref(),
                Ordering::Equal => return Some(&node.entry.value),
            };
        }
        None
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Entries in key order.
    pub(crate) fn iter(&self) -> Iter<'_, V> {
        let mut iter = Iter { stack: Vec::new() };
        iter.descend(self.root.as_deref());
        iter
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }
}

impl<V: Clone> PersistentMap<V> {
    /// Inserts `value` under `key`; returns the value it replaces.
    pub(crate) fn insert(&mut self, key: String, value: V) -> Option<V> {
        let old = insert(
            &mut self.root,
            Entry {
                key: Arc::from(key),
                value,
            },
        );
        if old.is_none() {
            self.len += 1;
        }
        old.map(|entry| entry.value)
    }

    /// Removes `key`; returns its value.
    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let (root, old) = remove(self.root.as_ref(), key)?;
        self.root = root;
        self.len -= 1;
        Some(old.value)
    }
}

impl<V: Clone> Extend<(String, V)> for PersistentMap<V> {
    fn extend<I: IntoIterator<Item = (String, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

/// In-order iterator of a [`PersistentMap`].
pub(crate) struct Iter<'a, V> {
    /// Nodes whose left subtree was visited; the top is next.
    stack: Vec<&'a Node<V>>,
}

impl<'a, V> Iter<'a, V> {
    fn descend(&mut self, mut at: Option<&'a Node<V>>) {
        while let Some(node) = at {
            self.stack.push(node);
            at = node.left.as_deref();
        }
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a str, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        let node = self.stack.pop()?;
        self.descend(node.right.as_deref());
        Some((&*node.entry.key, &node.entry.value))
    }
}

/// A persistent set of names: a [`PersistentMap`] without values.
#[derive(Clone, Default, Debug)]
pub(crate) struct PersistentSet(PersistentMap<()>);

impl PersistentSet {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Adds `key`; whether it was new.
    pub(crate) fn insert(&mut self, key: String) -> bool {
        self.0.insert(key, ()).is_none()
    }

    /// Removes `key`; whether it was there.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        self.0.remove(key).is_some()
    }
}

fn height<V: Clone>(tree: Option<&Arc<Node<V>>>) -> u8 {
    tree.map_or(0, |node| node.height)
}

fn node<V: Clone>(entry: Entry<V>, left: Tree<V>, right: Tree<V>) -> Arc<Node<V>> {
    let height = 1 + height(left.as_ref()).max(height(right.as_ref()));
    Arc::new(Node {
        entry,
        left,
        right,
        height,
    })
}

/// A node over `left` and `right`, whose heights differ by at most 2, rotated so that they
/// differ by at most 1.
fn balance<V: Clone>(entry: Entry<V>, left: Tree<V>, right: Tree<V>) -> Arc<Node<V>> {
    let (hl, hr) = (height(left.as_ref()), height(right.as_ref()));
    if hl > hr + 1 {
        let Some(l) = left else {
            unreachable!("a taller subtree is not empty")
        };
        if height(l.left.as_ref()) >= height(l.right.as_ref()) {
            let lower = node(entry, l.right.clone(), right);
            node(l.entry.clone(), l.left.clone(), Some(lower))
        } else {
            let Some(lr) = l.right.as_ref() else {
                unreachable!("the taller inner subtree is not empty")
            };
            let lower_left = node(l.entry.clone(), l.left.clone(), lr.left.clone());
            let lower_right = node(entry, lr.right.clone(), right);
            node(lr.entry.clone(), Some(lower_left), Some(lower_right))
        }
    } else if hr > hl + 1 {
        let Some(r) = right else {
            unreachable!("a taller subtree is not empty")
        };
        if height(r.right.as_ref()) >= height(r.left.as_ref()) {
            let lower = node(entry, left, r.left.clone());
            node(r.entry.clone(), Some(lower), r.right.clone())
        } else {
            let Some(rl) = r.left.as_ref() else {
                unreachable!("the taller inner subtree is not empty")
            };
            let lower_left = node(entry, left, rl.left.clone());
            let lower_right = node(r.entry.clone(), rl.right.clone(), r.right.clone());
            node(rl.entry.clone(), Some(lower_left), Some(lower_right))
        }
    } else {
        node(entry, left, right)
    }
}

/// Puts `entry` into the tree at `slot`; returns the entry it replaced.
///
/// Nodes on the path are changed in place where this tree is their only owner (within one
/// writer's batch, after the first insertion) and copied where a snapshot shares them, as
/// `Arc::make_mut` decides.
fn insert<V: Clone>(slot: &mut Tree<V>, entry: Entry<V>) -> Option<Entry<V>> {
    let Some(at) = slot else {
        *slot = Some(node(entry, None, None));
        return None;
    };
    let here = Arc::make_mut(at);
    let old = match entry.key.as_ref().cmp(&*here.entry.key) {
        Ordering::Equal => return Some(std::mem::replace(&mut here.entry, entry)),
        Ordering::Less => insert(&mut here.left, entry),
        Ordering::Greater => insert(&mut here.right, entry),
    };
    if old.is_none() {
        rebalance(at);
    }
    old
}

/// Restores the height and balance of `at`, whose path this writer owns, after one of its
/// subtrees grew by one. Rotations happen in place, copying only subtrees a snapshot shares.
fn rebalance<V: Clone>(at: &mut Arc<Node<V>>) {
    let here = Arc::make_mut(at);
    let (hl, hr) = (height(here.left.as_ref()), height(here.right.as_ref()));
    if hl > hr + 1 {
        if let Some(left) = here.left.as_mut()
            && height(left.left.as_ref()) < height(left.right.as_ref())
        {
            rotate_left(left);
        }
        rotate_right(at);
    } else if hr > hl + 1 {
        if let Some(right) = here.right.as_mut()
            && height(right.right.as_ref()) < height(right.left.as_ref())
        {
            rotate_right(right);
        }
        rotate_left(at);
    } else {
        here.height = 1 + hl.max(hr);
    }
}

/// Recomputes `node`'s height from its subtrees'.
fn fix_height<V: Clone>(node: &mut Node<V>) {
    node.height = 1 + height(node.left.as_ref()).max(height(node.right.as_ref()));
}

/// `at`'s left child takes its place; `at` becomes its right child.
fn rotate_right<V: Clone>(at: &mut Arc<Node<V>>) {
    let mut pivot = {
        let here = Arc::make_mut(at);
        let Some(mut pivot) = here.left.take() else {
            unreachable!("a left-heavy node has a left subtree")
        };
        here.left = Arc::make_mut(&mut pivot).right.take();
        fix_height(here);
        pivot
    };
    std::mem::swap(at, &mut pivot);
    let top = Arc::make_mut(at);
    top.right = Some(pivot);
    fix_height(top);
}

/// `at`'s right child takes its place; `at` becomes its left child.
fn rotate_left<V: Clone>(at: &mut Arc<Node<V>>) {
    let mut pivot = {
        let here = Arc::make_mut(at);
        let Some(mut pivot) = here.right.take() else {
            unreachable!("a right-heavy node has a right subtree")
        };
        here.right = Arc::make_mut(&mut pivot).left.take();
        fix_height(here);
        pivot
    };
    std::mem::swap(at, &mut pivot);
    let top = Arc::make_mut(at);
    top.left = Some(pivot);
    fix_height(top);
}

/// `tree` without `key`, and the removed entry; `None` if `key` is not there.
fn remove<V: Clone>(tree: Option<&Arc<Node<V>>>, key: &str) -> Option<(Tree<V>, Entry<V>)> {
    let at = tree?;
    Some(match key.cmp(&*at.entry.key) {
        Ordering::Less => {
            let (left, old) = remove(at.left.as_ref(), key)?;
            let rest = balance(at.entry.clone(), left, at.right.clone());
            (Some(rest), old)
        }
        Ordering::Greater => {
            let (right, old) = remove(at.right.as_ref(), key)?;
            let rest = balance(at.entry.clone(), at.left.clone(), right);
            (Some(rest), old)
        }
        Ordering::Equal => {
            let rest = match (&at.left, &at.right) {
                (None, only) | (only, None) => only.clone(),
                (left, Some(right)) => {
                    let (right, least) = remove_least(right);
                    Some(balance(least, left.clone(), right))
                }
            };
            (rest, at.entry.clone())
        }
    })
}

/// `tree` without its least entry, and that entry.
fn remove_least<V: Clone>(tree: &Arc<Node<V>>) -> (Tree<V>, Entry<V>) {
    match &tree.left {
        None => (tree.right.clone(), tree.entry.clone()),
        Some(left) => {
            let (left, least) = remove_least(left);
            let rest = balance(tree.entry.clone(), left, tree.right.clone());
            (Some(rest), least)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// The height of `tree`, after checking that it is an ordered AVL tree with true heights.
    fn checked_height<V>(
        tree: Option<&Arc<Node<V>>>,
        above: Option<&str>,
        below: Option<&str>,
    ) -> u8 {
        let Some(node) = tree else { return 0 };
        let key = &*node.entry.key;
        assert!(above.is_none_or(|a| key > a), "order");
        assert!(below.is_none_or(|b| key < b), "order");
        let hl = checked_height(node.left.as_ref(), above, Some(key));
        let hr = checked_height(node.right.as_ref(), Some(key), below);
        assert!(hl.abs_diff(hr) <= 1, "balance");
        assert_eq!(node.height, 1 + hl.max(hr), "height");
        node.height
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Snapshot,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..200u16, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => (0..200u16).prop_map(Op::Remove),
            1 => Just(Op::Snapshot),
        ]
    }

    proptest! {
        /// Every operation agrees with `BTreeMap`, the tree stays balanced, and a snapshot
        /// taken earlier never sees a later change.
        #[test]
        fn behaves_like_btreemap(ops in proptest::collection::vec(op(), 0..400)) {
            let mut map = PersistentMap::default();
            let mut model = BTreeMap::new();
            let mut snapshots = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let key = format!("k{k:03}");
                        prop_assert_eq!(map.insert(key.clone(), v), model.insert(key, v));
                    }
                    Op::Remove(k) => {
                        let key = format!("k{k:03}");
                        prop_assert_eq!(map.remove(&key), model.remove(&key));
                    }
                    Op::Snapshot => snapshots.push((map.clone(), model.clone())),
                }
                checked_height(map.root.as_ref(), None, None);
                prop_assert_eq!(map.len(), model.len());
            }
            let seen: Vec<_> = map.iter().map(|(k, v)| (k.to_owned(), *v)).collect();
            let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), *v)).collect();
            prop_assert_eq!(seen, want);
            for (key, value) in &model {
                prop_assert_eq!(map.get(key), Some(value));
            }
            prop_assert_eq!(map.get("absent"), None);
            for (snapshot, then) in snapshots {
                let seen: Vec<_> = snapshot.iter().map(|(k, v)| (k.to_owned(), *v)).collect();
                let want: Vec<_> = then.into_iter().collect();
                prop_assert_eq!(seen, want);
            }
        }
    }

    #[test]
    fn a_set_reports_what_changed() {
        let mut set = PersistentSet::default();
        assert!(set.insert("a".into()));
        assert!(!set.insert("a".into()));
        assert!(set.contains("a") && set.len() == 1);
        assert!(set.remove("a") && !set.remove("a") && set.is_empty());
    }

    #[test]
    fn ascending_insertions_stay_logarithmic() {
        let mut map = PersistentMap::default();
        for i in 0..100_000u32 {
            map.insert(format!("{i:06}"), i);
        }
        // An AVL tree of n entries is at most 1.44 log2(n) high: 24 for 100,000.
        assert!(checked_height(map.root.as_ref(), None, None) <= 24);
    }
}
