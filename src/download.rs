//! Download side (spec §6.6, §9): checks of decoded chunk records (`decode_chunk_records` hashes
//! every chunk, so a whole file can be checked against its file id with [`FileHashBuilder`]).

use crate::error::{err, ErrorKind, Result};
use crate::hash::{FileHashBuilder, MerkleHash};
use crate::xorb::DecodedChunks;

/// Checks that a term's decoded chunks have the byte count the reconstruction announced
/// (`unpacked_length`, §6.6 step 4).
pub fn check_term_length(decoded: &DecodedChunks, expected: u64) -> Result<()> {
    let got: u64 = decoded.lengths.iter().map(|&l| l as u64).sum();
    if got != expected {
        return err(
            ErrorKind::LengthMismatch,
            format!("term decodes to {got} bytes, the reconstruction announced {expected}"),
        );
    }
    Ok(())
}

/// File hash of decoded runs of chunks given in file order (whole-file verification).
pub fn file_hash_of_runs<'a>(runs: impl IntoIterator<Item = &'a DecodedChunks>) -> MerkleHash {
    let mut b = FileHashBuilder::new();
    for r in runs {
        for (h, l) in r.hashes.iter().zip(&r.lengths) {
            b.add_chunk(*h, *l as u64);
        }
    }
    b.finish()
}
