//! Global-dedup answer shards (§5.8): the xorbs a CAS knows, with chunk hashes keyed by the
//! shard's HMAC key when it has one.

use super::format::{Shard, XorbEntry};
use super::write::write_full_shard;
use crate::error::{err, ErrorKind, Result};
use crate::hash::MerkleHash;

/// Builds a global-deduplication answer shard (§5.8): empty file section, the given xorbs,
/// lookup tables, and a footer with the optional HMAC key and the times.
#[derive(Clone, Debug, Default)]
pub struct DedupShardBuilder {
    xorbs: Vec<(XorbEntry, Vec<MerkleHash>)>,
}

impl DedupShardBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a xorb by its hash and its plain chunk hashes and lengths.
    pub fn add_xorb(
        &mut self,
        hash: MerkleHash,
        chunk_hashes: &[MerkleHash],
        chunk_lengths: &[u32],
        bytes_on_disk: u32,
    ) -> Result<()> {
        if chunk_hashes.is_empty() {
            return err(
                ErrorKind::InvalidArgument,
                format!("xorb {hash}: a xorb has at least one chunk"),
            );
        }
        let entry = XorbEntry::from_chunks(hash, chunk_hashes, chunk_lengths, bytes_on_disk)?;
        self.xorbs.push((entry, chunk_hashes.to_vec()));
        Ok(())
    }

    /// The shard. With a (non-zero) `hmac_key`, every chunk hash is replaced by
    /// `keyed_hash(key, chunk hash)` (§3.8) and the key is stored in the footer. The file lookup
    /// table (empty) starts right after the xorb bookend, so `file_lookup_offset` is the end of
    /// the xorb section.
    pub fn finish(
        &self,
        hmac_key: Option<[u8; 32]>,
        created_at_secs: u64,
        expiry_secs: u64,
    ) -> Result<Vec<u8>> {
        let key = hmac_key.filter(|k| *k != [0u8; 32]);
        let xorbs: Vec<XorbEntry> = self
            .xorbs
            .iter()
            .map(|(e, plain)| {
                let mut e = e.clone();
                if let Some(k) = &key {
                    for (c, p) in e.chunks.iter_mut().zip(plain) {
                        c.hash = p.hmac(k);
                    }
                }
                e
            })
            .collect();
        write_full_shard(&[], &xorbs, key, created_at_secs, expiry_secs)
    }
}

/// One dedup-cache entry of an upload: a dedup-answer shard holding some of the upload's xorbs, the chunks
/// that key it, and the xorbs it names.
#[derive(Clone, Debug)]
pub struct UploadEntry {
    /// The answer shard (plain chunk hashes, no HMAC key, no expiry).
    pub shard: Vec<u8>,
    /// The key chunks, each once: every xorb's first chunk, the chunks whose hash is 0 modulo the probe
    /// modulus, and the first chunk of each file whose first term starts in one of the entry's xorbs.
    pub keys: Vec<MerkleHash>,
    /// The entry's xorbs, in shard order.
    pub xorbs: Vec<MerkleHash>,
}

/// Regroups the xorbs of an upload's shards into dedup-cache entries ([`UploadEntry`]) of at most
/// `max_chunks` chunks each (a xorb is never split; one larger than that makes an entry of its own). A
/// xorb listed by several shards is kept once.
#[derive(Debug)]
pub struct UploadEntries {
    max_chunks: usize,
    modulus: u64,
    /// The group each xorb went to. (Vectors searched linearly, not hash maps: an upload has few xorbs and
    /// files per shard, and a map type of its own would add ≈ 6 KiB gzipped to the WebAssembly module.)
    seen: Vec<(MerkleHash, usize)>,
    groups: Vec<Group>,
}

#[derive(Debug, Default)]
struct Group {
    builder: DedupShardBuilder,
    keys: Vec<MerkleHash>,
    xorbs: Vec<MerkleHash>,
    chunks: usize,
}

impl UploadEntries {
    /// No entries yet; `probe_modulus` 0 keys no chunk by its hash.
    pub fn new(max_chunks: usize, probe_modulus: u64) -> Self {
        UploadEntries {
            max_chunks: max_chunks.max(1),
            modulus: probe_modulus,
            seen: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// Adds the xorbs of one shard (an upload shard, or a dedup answer with plain chunk hashes).
    pub fn add_shard(&mut self, shard: &Shard) -> Result<()> {
        // The first chunk of each file, with the xorb its first term starts in (when the shard lists it).
        let file_keys: Vec<(MerkleHash, MerkleHash)> = shard
            .files
            .iter()
            .filter_map(|f| f.terms.first())
            .filter_map(|t| {
                let x = shard.xorbs.iter().find(|x| x.hash == t.xorb)?;
                Some((t.xorb, x.chunks.get(t.start as usize)?.hash))
            })
            .collect();
        let keys_of = |xorb: MerkleHash| {
            file_keys
                .iter()
                .filter(move |(x, _)| *x == xorb)
                .map(|(_, k)| *k)
        };
        for x in &shard.xorbs {
            if x.chunks.is_empty() {
                continue;
            }
            if let Some(&(_, g)) = self.seen.iter().find(|(h, _)| *h == x.hash) {
                // Listed by an earlier shard: its files' keys join the entry that holds it.
                self.groups[g].keys.extend(keys_of(x.hash));
                continue;
            }
            let full = self
                .groups
                .last()
                .is_none_or(|g| g.chunks > 0 && g.chunks + x.chunks.len() > self.max_chunks);
            if full {
                self.groups.push(Group::default());
            }
            let g = self.groups.last_mut().expect("a group was just ensured");
            let hashes: Vec<MerkleHash> = x.chunks.iter().map(|c| c.hash).collect();
            let lengths: Vec<u32> = x.chunks.iter().map(|c| c.length).collect();
            g.builder
                .add_xorb(x.hash, &hashes, &lengths, x.bytes_on_disk)?;
            g.keys.push(hashes[0]);
            if self.modulus > 0 {
                g.keys
                    .extend(hashes.iter().filter(|h| h.hash_mod(self.modulus) == 0));
            }
            g.keys.extend(keys_of(x.hash));
            g.xorbs.push(x.hash);
            g.chunks += x.chunks.len();
            self.seen.push((x.hash, self.groups.len() - 1));
        }
        Ok(())
    }

    /// The entries, their shards stamped `created_at_secs`.
    pub fn finish(self, created_at_secs: u64) -> Result<Vec<UploadEntry>> {
        self.groups
            .into_iter()
            .map(|g| {
                // Once each (a few hundred keys an entry: a linear search is cheap and adds no sort to the module).
                let mut keys: Vec<MerkleHash> = Vec::with_capacity(g.keys.len());
                for k in g.keys {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
                Ok(UploadEntry {
                    shard: g.builder.finish(None, created_at_secs, 0)?,
                    keys,
                    xorbs: g.xorbs,
                })
            })
            .collect()
    }
}
