//! Global-dedup answer shards (§5.8): the xorbs a CAS knows, with chunk hashes keyed by the
//! shard's HMAC key when it has one.

use super::format::XorbEntry;
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
