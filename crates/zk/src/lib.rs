//! Proof system: Goldilocks field, Fiat-Shamir transcript, sumcheck, LogUp-GKR lookups and a transparent multilinear commitment.
