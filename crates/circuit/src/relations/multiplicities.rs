//! How the lookup argument's multiplicities travel: per table, the declared rows (ascending)
//! and how often each is looked up, in whichever of three encodings is shortest, after a mode
//! varint:
//!
//! * `0`, *sparse*: the number of declared rows, then `(row step, count)` pairs as LEB128
//!   (wide tables used at few rows);
//! * `1`, *bitmap*: the first declared row and the span to the last one, a bitmap of the
//!   declared rows over the span (bit `i % 8` of byte `i / 8` is row `first + i`), then one
//!   count per declared row;
//! * `2`, *packed*: the first declared row, the span and a width `w` in `1 ..= 16`, then one
//!   `w`-bit code per row of the span (bit `j` of code `i` is bit `i w + j` of the bytes, low
//!   bits first): the count itself, `0` for a row not declared, or `2^w - 1` for a count of at
//!   least that, whose excess is sent after the codes as one LEB128 integer per such row.
//!   Dense tables whose counts are small (remainders of divisions, activations) take two or
//!   three bits a row instead of a bitmap bit plus a count byte.
//!
//! The verifier accepts exactly one encoding per mode (and width): rows strictly increasing
//! inside the table, a bitmap's or packed span starting and ending on a declared row with no
//! bits set past it, counts at least 1 summing to exactly the number of lookups (checked, not
//! wrapped). The multiplicities are prover messages absorbed before `α`; their encoding does not
//! enter the soundness argument.

use omron_zk::{ProverChannel, VerifierChannel, VerifyError};

/// The widest code of the packed encoding, in bits.
const MAX_WIDTH: u32 = 16;

/// Bytes of `v` as LEB128.
fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).div_ceil(7).max(1)
}

/// Bytes of the packed codes of `span` rows at width `w`, if addressable.
fn packed_bytes(span: u64, w: u32) -> Option<usize> {
    usize::try_from((span as u128 * w as u128).div_ceil(8)).ok()
}

/// Sends one table's multiplicities (`(row, count)`, rows ascending, counts at least 1) in the
/// shortest encoding.
pub(crate) fn send(ch: &mut ProverChannel, table: &[(u64, u64)]) {
    let (first, span) = match (table.first(), table.last()) {
        (Some(&(first, _)), Some(&(last, _))) => (first, last - first + 1),
        _ => (0, 0),
    };
    let mut pairs = Vec::with_capacity(2 * table.len());
    let mut prev = first;
    for &(row, count) in table {
        pairs.push(row - prev);
        pairs.push(count);
        prev = row;
    }
    if let Some(step) = pairs.first_mut() {
        *step = first;
    }
    let header = varint_len(first) + varint_len(span);
    let sparse =
        varint_len(table.len() as u64) + pairs.iter().map(|&v| varint_len(v)).sum::<usize>();
    let counts_len: usize = table.iter().map(|&(_, c)| varint_len(c)).sum();
    let bitmap = packed_bytes(span, 1).map(|b| header + b + counts_len);
    let packed = (1..=MAX_WIDTH)
        .filter_map(|w| {
            let max = (1u64 << w) - 1;
            let escapes: usize = table
                .iter()
                .filter(|&&(_, c)| c >= max)
                .map(|&(_, c)| varint_len(c - max))
                .sum();
            packed_bytes(span, w).map(|b| (header + 1 + b + escapes, w))
        })
        .min();
    let smallest = [Some(sparse), bitmap, packed.map(|(size, _)| size)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(sparse);
    if sparse == smallest {
        ch.send_varint(b"lookup-mode", 0);
        ch.send_varint(b"lookup-mode", table.len() as u64);
        ch.send_varints(b"lookup-multiplicities", &pairs);
    } else if bitmap == Some(smallest) {
        for v in [1, first, span] {
            ch.send_varint(b"lookup-mode", v);
        }
        let mut bits = vec![0u8; packed_bytes(span, 1).unwrap_or(0)];
        for &(row, _) in table {
            let i = (row - first) as usize;
            bits[i / 8] |= 1 << (i % 8);
        }
        ch.send_bytes(b"lookup-rows", &bits);
        let counts: Vec<u64> = table.iter().map(|&(_, c)| c).collect();
        ch.send_varints(b"lookup-multiplicities", &counts);
    } else {
        let w = packed.map_or(1, |(_, w)| w);
        for v in [2, first, span, w as u64] {
            ch.send_varint(b"lookup-mode", v);
        }
        let max = (1u64 << w) - 1;
        let mut codes = vec![0u8; packed_bytes(span, w).unwrap_or(0)];
        let mut escapes = Vec::new();
        for &(row, count) in table {
            write_code(&mut codes, (row - first) * w as u64, count.min(max));
            if count >= max {
                escapes.push(count - max);
            }
        }
        ch.send_bytes(b"lookup-counts", &codes);
        ch.send_varints(b"lookup-multiplicities", &escapes);
    }
}

/// ORs the code `v` (below `2^16`) into the bits from `bit` on.
fn write_code(bytes: &mut [u8], bit: u64, v: u64) {
    let shifted = v << (bit % 8);
    let at = (bit / 8) as usize;
    for (k, byte) in bytes.iter_mut().skip(at).take(3).enumerate() {
        *byte |= (shifted >> (8 * k)) as u8;
    }
}

/// The `w`-bit code starting at bit `bit`.
fn read_code(bytes: &[u8], bit: u64, w: u32) -> u64 {
    let at = (bit / 8) as usize;
    let mut v = 0u64;
    for (k, &byte) in bytes.iter().skip(at).take(3).enumerate() {
        v |= (byte as u64) << (8 * k);
    }
    (v >> (bit % 8)) & ((1 << w) - 1)
}

/// The first set bit at or after `bit`, skipping zero bytes.
fn next_set_bit(bytes: &[u8], bit: u64) -> Option<u64> {
    let at = (bit / 8) as usize;
    let head = bytes.get(at)? >> (bit % 8);
    if head != 0 {
        return Some(bit + head.trailing_zeros() as u64);
    }
    let rest = bytes.get(at + 1..)?;
    let k = rest.iter().position(|&b| b != 0)?;
    Some(8 * (at + 1 + k) as u64 + rest[k].trailing_zeros() as u64)
}

/// Why a multiplicity list was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// A row, count or code is out of range, or the list is not in its one encoding.
    Integer(VerifyError),
    /// The counts do not add up to the number of lookups.
    Unbalanced,
}

fn bad(what: &'static str, detail: String) -> DecodeError {
    DecodeError::Integer(VerifyError::InvalidInteger { what, detail })
}

/// Reads one table's multiplicities ([`send`]) for a table of `rows` rows and `total` lookups
/// into `(row, count)` entries with strictly increasing rows inside the table and counts in
/// `1 ..= total` summing to `total`.
pub(crate) fn recv(
    ch: &mut VerifierChannel<'_>,
    rows: u64,
    total: u64,
) -> Result<Result<Vec<(u64, u64)>, DecodeError>, VerifyError> {
    let mode = ch.recv_varint(b"lookup-mode", 2)?;
    if mode == 0 {
        let nnz = ch.recv_varint(b"lookup-mode", rows.min(total))?;
        let pairs = ch.recv_varints(
            b"lookup-multiplicities",
            2 * nnz as usize,
            (rows - 1).max(total),
        )?;
        return Ok(decode_pairs(&pairs, rows, total));
    }
    let first = ch.recv_varint(b"lookup-mode", rows - 1)?;
    let span = ch.recv_varint(b"lookup-mode", rows - first)?;
    let w = if mode == 1 {
        1
    } else {
        ch.recv_varint(b"lookup-mode", MAX_WIDTH as u64)? as u32
    };
    if w == 0 {
        return Ok(Err(bad("lookup-mode", "a code width of 0 bits".into())));
    }
    let Some(len) = packed_bytes(span, w) else {
        return Ok(Err(bad("lookup-rows", format!("a span of {span} rows"))));
    };
    let label: &'static [u8] = if mode == 1 {
        b"lookup-rows"
    } else {
        b"lookup-counts"
    };
    let bytes = ch.recv_bytes(label, len)?;
    let codes = match nonzero_codes(bytes, span, w, total) {
        Ok(codes) => codes,
        Err(e) => return Ok(Err(e)),
    };
    let max = (1u64 << w) - 1;
    let rest = if mode == 1 {
        codes.len()
    } else {
        codes.iter().filter(|&&(_, code)| code == max).count()
    };
    let extra = ch.recv_varints(b"lookup-multiplicities", rest, total)?;
    Ok(decode_codes(first, &codes, w, mode == 1, &extra, total))
}

/// The non-zero codes of a packed span (`(index, code)`, ascending), refusing bits set past the
/// span, a span that does not start and end on a declared row, and more than `limit` codes.
/// The work is proportional to the bytes plus the declared rows, not to the span.
fn nonzero_codes(
    bytes: &[u8],
    span: u64,
    w: u32,
    limit: u64,
) -> Result<Vec<(u64, u64)>, DecodeError> {
    let end = span * w as u64;
    let mut codes = Vec::new();
    let mut bit = 0;
    while let Some(set) = next_set_bit(bytes, bit) {
        if set >= end {
            return Err(bad("lookup-rows", "bits set past the span".into()));
        }
        if codes.len() as u64 >= limit {
            return Err(DecodeError::Unbalanced);
        }
        let index = set / w as u64;
        codes.push((index, read_code(bytes, index * w as u64, w)));
        bit = (index + 1) * w as u64;
    }
    let starts = codes.first().is_some_and(|&(i, _)| i == 0);
    let ends = codes.last().is_some_and(|&(i, _)| i + 1 == span);
    if span > 0 && !(starts && ends) {
        return Err(bad(
            "lookup-rows",
            format!("the declared rows do not start and end their span of {span}"),
        ));
    }
    Ok(codes)
}

/// Turns the non-zero codes of a bitmap (`w = 1`, counts in `extra`, one per code) or of a
/// packed span (counts in the codes, `extra` the excess of each maximal code) into
/// `(row, count)` entries, checking the counts.
fn decode_codes(
    first: u64,
    codes: &[(u64, u64)],
    w: u32,
    bitmap: bool,
    extra: &[u64],
    total: u64,
) -> Result<Vec<(u64, u64)>, DecodeError> {
    let max = (1u64 << w) - 1;
    let mut extra = extra.iter();
    let mut entries = Vec::with_capacity(codes.len());
    for &(index, code) in codes {
        let count = if bitmap {
            extra.next().copied().unwrap_or(0)
        } else if code == max {
            let excess = extra.next().copied().unwrap_or(0);
            code.checked_add(excess)
                .ok_or_else(|| bad("lookup-count", format!("excess {excess} overflows")))?
        } else {
            code
        };
        entries.push((first + index, count));
    }
    check_counts(&entries, total)?;
    Ok(entries)
}

/// Counts in `1 ..= total` summing to exactly `total`. The sum is checked, not wrapped: a list
/// whose counts overflow `u64` must not come back round to `total`.
fn check_counts(entries: &[(u64, u64)], total: u64) -> Result<(), DecodeError> {
    let mut sum = 0u64;
    for &(_, count) in entries {
        if count == 0 || count > total {
            return Err(bad(
                "lookup-count",
                format!("count {count} outside 1..={total}"),
            ));
        }
        sum = sum.checked_add(count).ok_or_else(|| {
            bad(
                "lookup-count",
                format!("counts overflow past {sum} (of {total} lookups)"),
            )
        })?;
    }
    if sum != total {
        return Err(DecodeError::Unbalanced);
    }
    Ok(())
}

/// Reads a table's `(row step, count)` pairs: rows strictly increasing below `rows`.
fn decode_pairs(pairs: &[u64], rows: u64, total: u64) -> Result<Vec<(u64, u64)>, DecodeError> {
    let mut entries = Vec::with_capacity(pairs.len() / 2);
    let mut row = 0u64;
    for (i, pair) in pairs.chunks_exact(2).enumerate() {
        let delta = pair[0];
        if i > 0 && delta == 0 {
            return Err(bad("lookup-row", "rows must be strictly increasing".into()));
        }
        row = if i == 0 {
            delta
        } else {
            row.saturating_add(delta)
        };
        if row >= rows {
            return Err(bad(
                "lookup-row",
                format!("row {row} outside a table of {rows}"),
            ));
        }
        entries.push((row, pair[1]));
    }
    check_counts(&entries, total)?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use omron_zk::Transcript;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Sends `table` and reads it back; returns the mode byte the prover chose too.
    fn roundtrip(table: &[(u64, u64)], rows: u64) -> (u8, Result<Vec<(u64, u64)>, DecodeError>) {
        let total = table.iter().map(|&(_, c)| c).sum();
        let t = Transcript::new(b"multiplicities");
        let mut pc = ProverChannel::new(t.clone());
        send(&mut pc, table);
        let bytes = pc.finish();
        let mut vc = VerifierChannel::new(t, &bytes, 1 << 24).unwrap();
        let out = recv(&mut vc, rows, total).unwrap();
        vc.finish().unwrap();
        (bytes[0], out)
    }

    /// Wide sparse tables, dense tables with small counts and dense tables with large counts
    /// each take the encoding they are shortest in, and every one decodes to the list sent.
    #[test]
    fn every_encoding_round_trips() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let sparse: Vec<(u64, u64)> = vec![(3, 1), (1 << 40, 2), (1 << 50, 7)];
        // Remainder-like: nearly every row of [0, 4096), counts 1..=6, a few large.
        let mut small: Vec<(u64, u64)> = Vec::new();
        for r in 0..4096u64 {
            if rng.gen_bool(0.95) {
                small.push((r, rng.gen_range(1..=6)));
            }
        }
        small[10].1 = 1000;
        // Every other row, large counts: a bitmap and one-byte counts win.
        let large: Vec<(u64, u64)> = (0..2000u64)
            .map(|r| (5 + 7 * r, rng.gen_range(60..=120)))
            .collect();
        for (table, rows, mode) in [
            (sparse, 1u64 << 62, 0u8),
            (small, 1 << 16, 2),
            (large, 1 << 16, 1),
        ] {
            let (chosen, out) = roundtrip(&table, rows);
            assert_eq!(chosen, mode, "{} rows", table.len());
            assert_eq!(out, Ok(table));
        }
        assert_eq!(roundtrip(&[(0, 5)], 1), (0, Ok(vec![(0, 5)])));
    }

    #[test]
    fn packed_codes_are_checked() {
        // w = 2, span 4: counts 1, 0, 3 (+ excess 2 = 5), 2 at rows 7..=10.
        let codes = [0b10_11_00_01u8];
        let got = nonzero_codes(&codes, 4, 2, 10).unwrap();
        assert_eq!(got, vec![(0, 1), (2, 3), (3, 2)]);
        assert_eq!(
            decode_codes(7, &got, 2, false, &[2], 8),
            Ok(vec![(7, 1), (9, 5), (10, 2)])
        );
        assert_eq!(
            decode_codes(7, &got, 2, false, &[2], 9),
            Err(DecodeError::Unbalanced)
        );
        // A span not ending on a declared row, bits past the span, too many codes.
        assert!(matches!(
            nonzero_codes(&[0b00_11_00_01], 4, 2, 10),
            Err(DecodeError::Integer(_))
        ));
        assert!(matches!(
            nonzero_codes(&[0b10_11_00_01, 1], 4, 2, 10),
            Err(DecodeError::Integer(_))
        ));
        assert_eq!(nonzero_codes(&codes, 4, 2, 2), Err(DecodeError::Unbalanced));
        // A code spanning a byte boundary (w = 5, second code at bits 5..10).
        let mut bytes = [0u8; 2];
        write_code(&mut bytes, 0, 3);
        write_code(&mut bytes, 5, 17);
        assert_eq!(nonzero_codes(&bytes, 2, 5, 10), Ok(vec![(0, 3), (1, 17)]));
    }

    #[test]
    fn multiplicities_decode_and_balance() {
        // Rows 2 and 7 (first 2, span 6: bits 0 and 5).
        let bitmap = [0b0010_0001u8];
        let codes = nonzero_codes(&bitmap, 6, 1, 4).unwrap();
        let entries = decode_codes(2, &codes, 1, true, &[3, 1], 4).unwrap();
        assert_eq!(entries, vec![(2, 3), (7, 1)]);
        assert_eq!(
            decode_codes(2, &codes, 1, true, &[3, 2], 4),
            Err(DecodeError::Unbalanced)
        );
        assert!(matches!(
            decode_codes(2, &codes, 1, true, &[4, 0], 4),
            Err(DecodeError::Integer(_))
        ));
        // A span that does not end on a declared row, or bits past it, has another encoding.
        assert!(matches!(
            nonzero_codes(&bitmap, 7, 1, 4),
            Err(DecodeError::Integer(_))
        ));
        assert!(matches!(
            nonzero_codes(&[0b1010_0001], 6, 1, 4),
            Err(DecodeError::Integer(_))
        ));
        assert_eq!(nonzero_codes(&[], 0, 1, 0), Ok(vec![]));
        // The sparse encoding.
        let entries = decode_pairs(&[2, 3, 5, 1], 10, 4).unwrap();
        assert_eq!(entries, vec![(2, 3), (7, 1)]);
        assert_eq!(
            decode_pairs(&[2, 3, 5, 2], 10, 4),
            Err(DecodeError::Unbalanced)
        );
        assert!(matches!(
            decode_pairs(&[2, 3, 0, 1], 10, 4),
            Err(DecodeError::Integer(_))
        ));
        assert!(matches!(
            decode_pairs(&[2, 3, 8, 1], 10, 4),
            Err(DecodeError::Integer(_))
        ));
    }

    #[test]
    fn overflowing_multiplicities_are_refused_not_wrapped() {
        // Three counts, each within `total`, whose wrapped sum is exactly `total`: an unchecked
        // addition would accept them as balanced.
        let total = 1u64 << 63;
        let counts = [total; 3];
        assert_eq!(
            counts.iter().fold(0u64, |a, &c| a.wrapping_add(c)),
            total,
            "the counts wrap round to total"
        );
        let codes = [(0, 1), (1, 1), (2, 1)];
        match decode_codes(0, &codes, 1, true, &counts, total) {
            Err(DecodeError::Integer(VerifyError::InvalidInteger { what, detail })) => {
                assert_eq!(what, "lookup-count");
                assert!(detail.contains("overflow"), "{detail}");
            }
            other => panic!("overflow accepted: {other:?}"),
        }
    }
}
