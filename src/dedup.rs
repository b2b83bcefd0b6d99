//! Deduplication state (spec §5.8, §8 item 3): where known chunks live, xorbs learned from
//! dedup-answer shards (with keyed chunk hashes), and term building.

use crate::hash::{MerkleHash, VERIFICATION_KEY};
use crate::shard::Shard;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hasher for maps keyed by chunk hashes: the keys are already uniformly distributed, so a
/// multiply-xor fold of their bytes is enough and much cheaper than SipHash.
#[derive(Default, Clone, Copy)]
pub(crate) struct HashFold(u64);

impl Hasher for HashFold {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(w))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, _: usize) {
        // The length prefix of a fixed 32-byte key carries no information.
    }
}

/// Map keyed by chunk hashes.
pub(crate) type HashMapFast<V> = HashMap<MerkleHash, V, BuildHasherDefault<HashFold>>;

/// Where a chunk lives: a xorb produced in this session (by sequence number) or a xorb learned
/// from a dedup-answer shard (by its index in the [`LearnedIndex`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum XorbRef {
    /// The n-th xorb of this session (it may still be open).
    Session(u32),
    /// The n-th xorb learned from dedup answers.
    Learned(u32),
}

/// A xorb learned from a dedup answer.
#[derive(Clone, Debug)]
pub(crate) struct LearnedXorb {
    /// Xorb hash.
    pub(crate) hash: MerkleHash,
    /// Chunk hashes as stored in the shard (keyed when the shard has an HMAC key).
    pub(crate) chunk_hashes: Vec<MerkleHash>,
    /// Which key slot of the index its hashes are keyed with.
    key_slot: usize,
    /// Key expiry of its shard, Unix seconds (0 = none).
    pub(crate) expiry: u64,
}

#[derive(Clone, Debug)]
struct KeySlot {
    key: Option<[u8; 32]>,
    map: HashMapFast<(u32, u32)>,
}

/// Xorbs learned from dedup-answer shards, indexed by (keyed) chunk hash per HMAC key.
#[derive(Clone, Debug, Default)]
pub(crate) struct LearnedIndex {
    xorbs: Vec<LearnedXorb>,
    slots: Vec<KeySlot>,
    by_hash: HashMapFast<u32>,
}

/// True when a shard expiry has passed at `now` (0 = never expires).
pub(crate) fn is_expired(expiry: u64, now: f64) -> bool {
    expiry != 0 && (expiry as f64) < now
}

impl LearnedIndex {
    /// An empty index.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The learned xorb `id`.
    pub(crate) fn xorb(&self, id: u32) -> &LearnedXorb {
        &self.xorbs[id as usize]
    }

    /// Learns the xorbs of a dedup-answer shard. A shard whose expiry (non-zero) is before
    /// `now` is ignored, and a xorb already learned (and not expired) is not learned twice.
    /// Returns the number of xorbs learned.
    pub(crate) fn ingest(&mut self, shard: &Shard, now: f64) -> usize {
        let (key, expiry) = match &shard.footer {
            Some(f) => (f.key(), f.expiry),
            None => (None, 0),
        };
        if is_expired(expiry, now) {
            return 0;
        }
        let slot = match self.slots.iter().position(|s| s.key == key) {
            Some(i) => i,
            None => {
                self.slots.push(KeySlot {
                    key,
                    map: HashMapFast::default(),
                });
                self.slots.len() - 1
            }
        };
        let mut learned = 0;
        for x in &shard.xorbs {
            if x.chunks.is_empty() {
                continue;
            }
            if let Some(&old) = self.by_hash.get(&x.hash) {
                if !is_expired(self.xorbs[old as usize].expiry, now) {
                    continue;
                }
            }
            let id = self.xorbs.len() as u32;
            let map = &mut self.slots[slot].map;
            let xorbs = &self.xorbs;
            for (i, c) in x.chunks.iter().enumerate() {
                // A chunk already indexed keeps its location unless that xorb has expired. A chunk
                // repeated inside this xorb keeps its first index: the xorb is not stored yet
                // (`e.0 == id`), and looking it up indexed out of bounds (found by fuzzing).
                map.entry(c.hash)
                    .and_modify(|e| {
                        if e.0 != id && is_expired(xorbs[e.0 as usize].expiry, now) {
                            *e = (id, i as u32);
                        }
                    })
                    .or_insert((id, i as u32));
            }
            self.by_hash.insert(x.hash, id);
            self.xorbs.push(LearnedXorb {
                hash: x.hash,
                chunk_hashes: x.chunks.iter().map(|c| c.hash).collect(),
                key_slot: slot,
                expiry,
            });
            learned += 1;
        }
        learned
    }

    /// Finds a learned, unexpired xorb chunk with plain hash `h`: `(xorb id, chunk index)`.
    pub(crate) fn lookup(&self, h: &MerkleHash, now: f64) -> Option<(u32, u32)> {
        for slot in &self.slots {
            let probe = match &slot.key {
                Some(k) => h.hmac(k),
                None => *h,
            };
            if let Some(&(id, idx)) = slot.map.get(&probe) {
                if !is_expired(self.xorbs[id as usize].expiry, now) {
                    return Some((id, idx));
                }
            }
        }
        None
    }

    /// True when chunk `idx` of learned xorb `id` has plain hash `h` (and is not expired).
    pub(crate) fn matches_at(&self, id: u32, idx: u32, h: &MerkleHash, now: f64) -> bool {
        let x = &self.xorbs[id as usize];
        let Some(stored) = x.chunk_hashes.get(idx as usize) else {
            return false;
        };
        if is_expired(x.expiry, now) {
            return false;
        }
        match &self.slots[x.key_slot].key {
            Some(k) => h.hmac(k) == *stored,
            None => h == stored,
        }
    }
}

/// A closed term: chunks `[start, end)` of a xorb, its byte count and verification hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BuiltTerm {
    /// Where the chunks live.
    pub(crate) xorb: XorbRef,
    /// First chunk index.
    pub(crate) start: u32,
    /// Index after the last chunk.
    pub(crate) end: u32,
    /// Sum of the chunk lengths.
    pub(crate) bytes: u32,
    /// `keyed_hash(VERIFICATION_KEY, chunk hashes)` over the file's own chunk hashes (§3.7).
    pub(crate) verification: MerkleHash,
}

#[derive(Clone, Debug)]
struct OpenTerm {
    xorb: XorbRef,
    start: u32,
    end: u32,
    bytes: u32,
    verification: blake3::Hasher,
}

/// Builds a file's terms chunk by chunk: consecutive chunks of one xorb with contiguous
/// indices merge into one term; anything else starts a new term.
#[derive(Clone, Debug, Default)]
pub(crate) struct TermBuilder {
    terms: Vec<BuiltTerm>,
    open: Option<OpenTerm>,
}

impl TermBuilder {
    /// An empty builder.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The xorb and next chunk index that would continue the open term.
    pub(crate) fn continuation(&self) -> Option<(XorbRef, u32)> {
        self.open.as_ref().map(|t| (t.xorb, t.end))
    }

    /// Adds the next chunk of the file: chunk `index` of `xorb`, `len` bytes, plain hash `hash`.
    pub(crate) fn push(&mut self, xorb: XorbRef, index: u32, len: u32, hash: &MerkleHash) {
        if let Some(t) = &mut self.open {
            if t.xorb == xorb && t.end == index && t.bytes.checked_add(len).is_some() {
                t.end += 1;
                t.bytes += len;
                t.verification.update(hash.as_bytes());
                return;
            }
        }
        self.close();
        let mut verification = blake3::Hasher::new_keyed(&VERIFICATION_KEY);
        verification.update(hash.as_bytes());
        self.open = Some(OpenTerm {
            xorb,
            start: index,
            end: index + 1,
            bytes: len,
            verification,
        });
    }

    fn close(&mut self) {
        if let Some(t) = self.open.take() {
            self.terms.push(BuiltTerm {
                xorb: t.xorb,
                start: t.start,
                end: t.end,
                bytes: t.bytes,
                verification: MerkleHash(*t.verification.finalize().as_bytes()),
            });
        }
    }

    /// All terms, in file order.
    pub(crate) fn finish(mut self) -> Vec<BuiltTerm> {
        self.close();
        self.terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::chunk_hash;
    use crate::shard::{parse_shard, DedupShardBuilder};

    /// Found by fuzzing (the `answer_query` target; its crash input is replayed in
    /// tests/fuzz_regressions.rs).
    /// A dedup answer whose xorb lists the same chunk hash twice used to index out of bounds while
    /// being learned (the xorb being ingested was looked up before it was stored): a CAS could abort
    /// the client's WebAssembly core with one answer.
    #[test]
    fn a_dedup_answer_repeating_a_chunk_in_one_xorb_is_learned_without_panic() {
        let h = chunk_hash(b"a chunk");
        let other = chunk_hash(b"another chunk");
        let mut b = DedupShardBuilder::new();
        b.add_xorb(MerkleHash([7; 32]), &[h, other, h], &[7, 13, 7], 100)
            .unwrap();
        for key in [None, Some([5u8; 32])] {
            let shard = parse_shard(&b.finish(key, 1, 0).unwrap()).unwrap();
            let mut idx = LearnedIndex::new();
            assert_eq!(idx.ingest(&shard, 2.0), 1);
            // The first occurrence is where the chunk is found.
            assert_eq!(idx.lookup(&h, 2.0), Some((0, 0)));
            assert_eq!(idx.lookup(&other, 2.0), Some((0, 1)));
            // Learning the same answer again changes nothing.
            assert_eq!(idx.ingest(&shard, 2.0), 0);
            assert_eq!(idx.lookup(&h, 2.0), Some((0, 0)));
        }
    }
}
