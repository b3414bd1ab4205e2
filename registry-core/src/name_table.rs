//! The name index: names to what the table keeps for them (a position and an entry), in one
//! probe.
//!
//! Every descriptor carries the hash of its name, computed by [`name_hash`] at compile time
//! (it is a `const fn`, called in the descriptor's `const` constructor), so building the table
//! hashes nothing. The table is open-addressed with linear probing, a power of two at most
//! half full; a slot holds the name's full hash and the entry's position, so a lookup is one
//! hash of the query, usually one slot, and one string compare on a hash match.
//!
//! The hash is not keyed: the names in the table come from the binary, not from its input, so
//! a hostile query cannot lengthen a probe sequence; the worst it can do is miss, which stops at
//! the first empty slot.

/// Multipliers of the folded multiply (the fractional parts of pi and e).
const K0: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0xb7e1_5162_8aed_2a6b;

/// The 128-bit product of `a` and `b`, folded to 64 bits: each input bit reaches every
/// output bit.
#[inline]
#[allow(clippy::cast_possible_truncation)] // the two halves of the product, on purpose
const fn fold(a: u64, b: u64) -> u64 {
    let full = (a as u128).wrapping_mul(b as u128);
    (full as u64) ^ ((full >> 64) as u64)
}

/// The 8 bytes at `i`, little-endian (one unaligned load at run time).
#[inline]
const fn read8(b: &[u8], i: usize) -> u64 {
    match b.split_at(i).1.first_chunk::<8>() {
        Some(word) => u64::from_le_bytes(*word),
        None => 0,
    }
}

/// The 4 bytes at `i`, little-endian.
#[inline]
const fn read4(b: &[u8], i: usize) -> u64 {
    match b.split_at(i).1.first_chunk::<4>() {
        Some(word) => u32::from_le_bytes(*word) as u64,
        None => 0,
    }
}

/// A name reduced for hashing: the state after its 16-byte blocks and the last 1 to 16 bytes
/// as two overlapping words.
#[derive(Clone, Copy, Debug)]
struct Key {
    len: usize,
    seed: u64,
    a: u64,
    c: u64,
}

/// The block size of the hash.
const WHOLE: usize = 16;

#[inline]
const fn key(name: &str) -> Key {
    let b = name.as_bytes();
    let len = b.len();
    let mut seed = K0 ^ len as u64;
    let mut i = 0;
    while len - i > WHOLE {
        seed = fold(read8(b, i) ^ K1, read8(b, i + 8) ^ seed);
        i += 16;
    }
    let rest = len - i;
    let (a, c) = if rest > 8 {
        (read8(b, i), read8(b, len - 8))
    } else if rest >= 4 {
        (read4(b, i), read4(b, len - 4))
    } else if rest > 0 {
        (
            (b[i] as u64) << 16 | (b[i + rest / 2] as u64) << 8 | b[len - 1] as u64,
            0,
        )
    } else {
        (0, 0)
    };
    Key { len, seed, a, c }
}

#[inline]
const fn hash_of(key: Key) -> u64 {
    // One folded multiply: the length is in the seed from the start.
    fold(key.a ^ K1, key.c ^ key.seed)
}

/// The hash of a plugin name, the same at compile time and at run time: 16-byte blocks, then
/// the last 1 to 16 bytes read as two overlapping words, each step one folded multiply.
#[inline]
pub const fn name_hash(name: &str) -> u64 {
    hash_of(key(name))
}

#[derive(Clone, Copy, Debug)]
struct Slot<V> {
    hash: u64,
    /// The name's two hashing words: for a name of at most 16 bytes they are its bytes, so a
    /// hit on such a name is confirmed by comparing them, with no string compare.
    words: (u64, u64),
    /// The name itself, to confirm a hit on a longer name.
    name: &'static str,
    /// What the table keeps for the name; `None` in an empty slot.
    value: Option<V>,
}

/// Names this long or shorter are whole in their key's two words.
const IN_WORDS: usize = WHOLE;

/// Names to values, for names whose hashes are known. A hit hands out the value from the
/// slot itself, so a caller that keeps what it needs there reads nothing else.
#[derive(Debug)]
pub(crate) struct NameTable<V> {
    slots: Box<[Slot<V>]>,
    mask: usize,
}

impl<V: Copy> NameTable<V> {
    /// A table of `names`, each `(hash, name, value)`; names are distinct.
    pub(crate) fn build(names: impl ExactSizeIterator<Item = (u64, &'static str, V)>) -> Self {
        let capacity = (names.len() * 2).next_power_of_two().max(2);
        let mut slots = vec![
            Slot {
                hash: 0,
                words: (0, 0),
                name: "",
                value: None,
            };
            capacity
        ]
        .into_boxed_slice();
        let mask = capacity - 1;
        for (hash, name, value) in names {
            // The mask keeps the hash's low bits; the cast keeps at least as many.
            #[allow(clippy::cast_possible_truncation)] // masked to the table size
            let mut i = hash as usize & mask;
            while slots[i].value.is_some() {
                i = (i + 1) & mask;
            }
            let key = key(name);
            slots[i] = Slot {
                hash,
                words: (key.a, key.c),
                name,
                value: Some(value),
            };
        }
        NameTable { slots, mask }
    }

    /// The value kept for `name`.
    #[inline]
    pub(crate) fn find(&self, name: &str) -> Option<V> {
        let key = key(name);
        let hash = hash_of(key);
        #[allow(clippy::cast_possible_truncation)] // masked to the table size
        let mut i = hash as usize & self.mask;
        loop {
            let slot = &self.slots[i];
            let value = slot.value?;
            if slot.hash == hash
                && slot.name.len() == key.len
                && if key.len <= IN_WORDS {
                    slot.words == (key.a, key.c)
                } else {
                    slot.name == name
                }
            {
                return Some(value);
            }
            i = (i + 1) & self.mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_name_and_misses_others() {
        let names: Vec<&'static str> = (0..1000)
            .map(|i| &*Box::leak(format!("plugin-{i}").into_boxed_str()))
            .collect();
        let table = NameTable::build(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (name_hash(n), *n, u32::try_from(i).unwrap())),
        );
        for (i, name) in names.iter().enumerate() {
            assert_eq!(table.find(name), Some(u32::try_from(i).unwrap()));
        }
        for miss in ["", "plugin-1000", "plugin-", "x"] {
            assert_eq!(table.find(miss), None);
        }
    }

    #[test]
    fn the_hash_sees_every_byte_and_the_length() {
        const AT_COMPILE_TIME: u64 = name_hash("gzip-compress");
        assert_eq!(AT_COMPILE_TIME, name_hash("gzip-compress"));
        assert_ne!(name_hash("a"), name_hash("a\0"));
        assert_ne!(name_hash(""), name_hash("\0"));
        // Every length class: 1-3, 4-8, 9-16, and past a 16-byte block; every position.
        for name in [
            "ab",
            "abc",
            "abcde",
            "abcdefgh",
            "abcdefghij",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
            "gzip-compress-with-a-long-name-indeed",
        ] {
            let key = key(name);
            let hash = hash_of(key);
            for i in 0..name.len() {
                let mut changed = name.as_bytes().to_vec();
                changed[i] ^= 1;
                let changed = String::from_utf8(changed).unwrap();
                assert_ne!(hash, name_hash(&changed), "{name}: byte {i}");
            }
            assert_ne!(hash, name_hash(&name[..name.len() - 1]), "{name}: shorter");
        }
    }

    #[test]
    fn a_short_name_is_whole_in_its_words() {
        // What lets `find` confirm a hit on a name of up to 16 bytes without a string
        // compare: two names of one such length with the same words are the same name.
        let base = "abcdefghijklmnop";
        for len in 1..=IN_WORDS {
            let name = &base[..len];
            let words = |n: &str| {
                let k = key(n);
                (k.a, k.c)
            };
            for i in 0..len {
                for bit in 0..8 {
                    let mut changed = name.as_bytes().to_vec();
                    changed[i] ^= 1 << bit;
                    let changed = String::from_utf8_lossy(&changed).into_owned();
                    if changed.len() == len {
                        assert_ne!(words(name), words(&changed), "{name}: byte {i} bit {bit}");
                    }
                }
            }
        }
    }

    #[test]
    fn an_empty_table_misses() {
        let table = NameTable::<u32>::build(std::iter::empty());
        assert_eq!(table.find("x"), None);
    }
}
