//! RFC 9162 (Certificate Transparency v2) Merkle trees with BLAKE3 as `HASH`.
//!
//! * `MTH({})      = HASH()`
//! * leaf          = `HASH(0x00 || leaf_data)`
//! * node          = `HASH(0x01 || left || right)`, split at the largest power of two `< n`.
//!
//! The 0x00/0x01 domain separation means a leaf can never be confused with an inner node
//! (the second-preimage attack on naive Merkle trees). Inclusion proofs follow RFC 9162
//! §2.1.3 exactly, so a shard can be checked against a signed root with `log2(n)` hashes.

pub type Hash = [u8; 32];

/// Hash of already-encoded leaf data: `HASH(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(&[0x00]);
    h.update(data);
    *h.finalize().as_bytes()
}

/// Inner node: `HASH(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(&[0x01]);
    h.update(left);
    h.update(right);
    *h.finalize().as_bytes()
}

/// Largest power of two strictly smaller than `n` (n >= 2).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// Merkle tree head over leaf hashes in order.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => *blake3::hash(&[]).as_bytes(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Audit path for leaf `index` (RFC 9162 §2.1.3.1 `PATH(m, D[n])`), leaf-side first.
/// Returns `None` when `index` is out of range.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
        if d.len() <= 1 {
            return;
        }
        let k = split(d.len());
        if m < k {
            path(m, &d[..k], out);
            out.push(root(&d[k..]));
        } else {
            path(m - k, &d[k..], out);
            out.push(root(&d[..k]));
        }
    }
    let mut out = Vec::new();
    path(index, leaves, &mut out);
    Some(out)
}

/// Verify an inclusion proof (RFC 9162 §2.1.3.2). True only if `leaf` at `index` in a tree
/// of `tree_size` leaves hashes up to `expected_root` through exactly `proof`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    expected_root: &Hash,
) -> bool {
    if index >= tree_size {
        return false;
    }
    let (mut fnode, mut snode) = (index, tree_size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && &r == expected_root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&[i as u8])).collect()
    }

    #[test]
    fn small_roots_by_hand() {
        let l = leaves(3);
        assert_eq!(root(&[]), *blake3::hash(b"").as_bytes());
        assert_eq!(root(&l[..1]), l[0]);
        assert_eq!(root(&l[..2]), node_hash(&l[0], &l[1]));
        assert_eq!(root(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
    }

    #[test]
    fn every_proof_verifies_and_tampering_fails() {
        for n in 1..=17 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = inclusion_proof(&l, i).unwrap();
                assert!(
                    verify_inclusion(&l[i], i as u64, n as u64, &p, &r),
                    "n={n} i={i}"
                );
                // wrong index, wrong size, wrong leaf, truncated or extended proof all fail
                if n > 1 {
                    let j = (i + 1) % n;
                    assert!(!verify_inclusion(&l[i], j as u64, n as u64, &p, &r));
                    assert!(!verify_inclusion(&l[j], i as u64, n as u64, &p, &r));
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert!(!verify_inclusion(&l[i], i as u64, n as u64, &bad, &r));
                    assert!(!verify_inclusion(&l[i], i as u64, n as u64, &p[1..], &r));
                }
                let mut longer = p.clone();
                longer.push([0; 32]);
                assert!(!verify_inclusion(&l[i], i as u64, n as u64, &longer, &r));
            }
            assert!(inclusion_proof(&l, n).is_none());
        }
    }
}
