//! Optional parallelism: the same names run on rayon with the `parallel` feature and serially
//! without it, so there is one code path and single-threaded builds stay deterministic.

/// Runs `f` on every chunk of `data` (with its index), in parallel when enabled.
pub(crate) fn for_each_chunk<T: Send>(
    data: &mut [T],
    chunk: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        data.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
    #[cfg(not(feature = "parallel"))]
    data.chunks_mut(chunk)
        .enumerate()
        .for_each(|(i, c)| f(i, c));
}

/// `(0..n).map(f).collect()`, in parallel when enabled.
pub(crate) fn map_range<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        (0..n).into_par_iter().map(f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    (0..n).map(f).collect()
}

/// Runs two closures, concurrently when enabled.
pub(crate) fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    #[cfg(feature = "parallel")]
    {
        rayon::join(a, b)
    }
    #[cfg(not(feature = "parallel"))]
    (a(), b())
}

/// Items a parallel task gets at least: below this a loop runs on the calling thread, where
/// handing work to another thread would cost more than it saves.
pub(crate) const MIN_TASK_LEN: usize = 1 << 12;

/// How many tasks `n` items split into, each at least `min_len` long.
fn task_count(n: usize, min_len: usize) -> usize {
    #[cfg(feature = "parallel")]
    {
        (n / min_len.max(1)).clamp(1, 4 * rayon::current_num_threads())
    }
    #[cfg(not(feature = "parallel"))]
    {
        let _ = (n, min_len);
        1
    }
}

/// Splits `0..n` into contiguous ranges of at least `min_len` items and maps each with `f`, in
/// parallel when enabled; the results come back in range order. Partial sums of field elements
/// combined in that order equal the serial sum exactly (field addition is associative).
pub(crate) fn map_ranges<R: Send>(
    n: usize,
    min_len: usize,
    f: impl Fn(std::ops::Range<usize>) -> R + Sync + Send,
) -> Vec<R> {
    let tasks = task_count(n, min_len);
    if tasks == 1 {
        return vec![f(0..n)];
    }
    let per = n.div_ceil(tasks);
    map_range(tasks, |t| f((t * per).min(n)..((t + 1) * per).min(n)))
}

/// `(0..n).map(f).collect()` in tasks of at least `min_len` items (written once, without
/// zeroing the vector first).
pub(crate) fn collect<T: Send>(
    n: usize,
    min_len: usize,
    f: impl Fn(usize) -> T + Sync + Send,
) -> Vec<T> {
    #[cfg(feature = "parallel")]
    if task_count(n, min_len) > 1 {
        use rayon::prelude::*;
        return (0..n)
            .into_par_iter()
            .with_min_len(min_len.max(1))
            .map(f)
            .collect();
    }
    let _ = min_len;
    (0..n).map(f).collect()
}

/// Splits `out` into chunks of at least `min_len` items (a multiple of `align`) and runs `f` on
/// each with the index of its first item, in parallel when enabled; returns `f`'s results in
/// chunk order.
pub(crate) fn fill_chunks<T: Send, R: Send>(
    out: &mut [T],
    min_len: usize,
    align: usize,
    f: impl Fn(usize, &mut [T]) -> R + Sync + Send,
) -> Vec<R> {
    let tasks = task_count(out.len(), min_len);
    if tasks == 1 {
        return vec![f(0, out)];
    }
    let chunk = out.len().div_ceil(tasks).next_multiple_of(align.max(1));
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk)
            .enumerate()
            .map(|(c, slots)| f(c * chunk, slots))
            .collect()
    }
    #[cfg(not(feature = "parallel"))]
    out.chunks_mut(chunk)
        .enumerate()
        .map(|(c, slots)| f(c * chunk, slots))
        .collect()
}

/// The table `eq(point, b)` for every `b` in `{0,1}^n` (as [`crate::mle::eq_table`]), each
/// doubling step split over threads when large.
pub(crate) fn eq_table(point: &[crate::Ext]) -> Vec<crate::Ext> {
    eq_table_scaled(point, crate::Ext::ONE)
}

/// `scale` times [`eq_table`].
pub(crate) fn eq_table_scaled(point: &[crate::Ext], scale: crate::Ext) -> Vec<crate::Ext> {
    use crate::Ext;
    let mut table = vec![Ext::ZERO; 1 << point.len()];
    table[0] = scale;
    let mut len = 1;
    for &r in point {
        let (lo, hi) = table[..2 * len].split_at_mut(len);
        let tasks = task_count(len, MIN_TASK_LEN);
        let step = |lo: &mut [Ext], hi: &mut [Ext]| {
            for (l, h) in lo.iter_mut().zip(hi.iter_mut()) {
                *h = *l * r;
                *l -= *h;
            }
        };
        if tasks == 1 {
            step(lo, hi);
        } else {
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                let chunk = len.div_ceil(tasks);
                lo.par_chunks_mut(chunk)
                    .zip(hi.par_chunks_mut(chunk))
                    .for_each(|(l, h)| step(l, h));
            }
            #[cfg(not(feature = "parallel"))]
            step(lo, hi);
        }
        len *= 2;
    }
    table
}
