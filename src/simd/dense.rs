//! Dense products `y[t] = Σ_j W_j · x_j[t]` (a convolution's taps, a 1×1, a conv fused with its
//! input mixin), computed over tiles of `F` frames × all `N` output channels: each weight row is
//! loaded once per tile and the `F·N` sums stay in registers. With `N` a compile-time width the
//! loops unroll and vectorise over output channels.
//!
//! Reduction order (what keeps block splits bit-identical): every output element is
//! `s = 0; for each operand, for each input i: s = mac(s, w, x)`, then the [`Store`] — the same
//! sequence whatever tile (or the 1-frame path) the frame falls in, so the tile width is free to
//! follow the chunk width.

use super::Mac;

/// One operand: frame `t` of its input is `x[(first + t)·stride ..][..cin]`, its weights are
/// `w[i][o]` (`cin` rows of the padded output width, see [`Operands`]).
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a> {
    pub x: &'a [f32],
    pub stride: usize,
    pub first: usize,
    pub cin: usize,
    pub w: &'a [f32],
}

/// The operands of one product: the `taps` of a dilated convolution over `x` (tap `k` reads
/// frame `start + t − (taps−1−k)·dilation`, weights `w[k][i][n]`), then optionally one more
/// (a fused 1×1 of another input). Weight rows hold `row` floats: the output width rounded up
/// to a multiple of 4 and zero-padded, so vector kernels load whole rows.
#[derive(Clone, Copy)]
pub(crate) struct Operands<'a> {
    pub x: &'a [f32],
    pub stride: usize,
    pub start: usize,
    pub cin: usize,
    pub taps: usize,
    pub dilation: usize,
    pub w: &'a [f32],
    pub row: usize,
    pub extra: Option<Operand<'a>>,
}

impl<'a> Operands<'a> {
    #[inline(always)]
    pub(crate) fn count(&self) -> usize {
        self.taps + usize::from(self.extra.is_some())
    }

    #[inline(always)]
    pub(crate) fn get(&self, j: usize) -> Operand<'a> {
        match self.extra {
            Some(extra) if j == self.taps => extra,
            _ => {
                let rows = self.cin * self.row;
                Operand {
                    x: self.x,
                    stride: self.stride,
                    first: self.start - (self.taps - 1 - j) * self.dilation,
                    cin: self.cin,
                    w: &self.w[j * rows..(j + 1) * rows],
                }
            }
        }
    }
}

/// What happens to each finished sum `s`.
#[derive(Clone, Copy)]
pub(crate) enum Store<'a> {
    /// `y = s + bias` (or `y = s`).
    Set(Option<&'a [f32]>),
    /// `y = y + s`.
    Add,
    /// `y = (s + bias) + r[t]`, `r` frame-major with the given stride (a residual connection).
    Residual(Option<&'a [f32]>, &'a [f32], usize),
}

/// Output channels per register tile are `N` (0: any width, one frame at a time); frames per tile
/// are `F`. Frames left over after the full tiles run one by one (the buffer-1 path).
#[inline(always)]
pub(crate) fn product<M: Mac, const N: usize, const F: usize>(
    n: usize,
    ops: &Operands<'_>,
    frames: usize,
    y: &mut [f32],
    y_stride: usize,
    store: Store<'_>,
) {
    if N == 0 {
        return general::<M>(n, ops, frames, y, y_stride, store);
    }
    debug_assert_eq!(n, N);
    let mut t = 0;
    if F > 1 {
        while t + F <= frames {
            tile::<M, N, F>(ops, t, y, y_stride, store);
            t += F;
        }
    }
    while t < frames {
        tile::<M, N, 1>(ops, t, y, y_stride, store);
        t += 1;
    }
}

#[inline(always)]
fn tile<M: Mac, const N: usize, const F: usize>(
    ops: &Operands<'_>,
    t0: usize,
    y: &mut [f32],
    y_stride: usize,
    store: Store<'_>,
) {
    let mut acc = [[0.0f32; N]; F];
    for j in 0..ops.count() {
        let op = ops.get(j);
        assert_eq!(op.w.len(), op.cin * ops.row, "weight rows");
        let base = (op.first + t0) * op.stride;
        let xs = &op.x[base..base + (F - 1) * op.stride + op.cin];
        for (i, row) in op.w.chunks_exact(ops.row).enumerate() {
            for (f, acc_f) in acc.iter_mut().enumerate() {
                // SAFETY: f ≤ F − 1 and i < cin (asserted above), so the index is < xs.len().
                let xv = unsafe { *xs.get_unchecked(f * op.stride + i) };
                for (a, &wv) in acc_f.iter_mut().zip(row) {
                    *a = M::mac(*a, wv, xv);
                }
            }
        }
    }
    for (f, acc_f) in acc.iter().enumerate() {
        let t = t0 + f;
        store_row(&mut y[t * y_stride..t * y_stride + N], acc_f, store, 0, t);
    }
}

/// Any output width: one frame at a time, output channels in register-sized column tiles.
#[inline(always)]
fn general<M: Mac>(n: usize, ops: &Operands<'_>, frames: usize, y: &mut [f32], y_stride: usize, store: Store<'_>) {
    const COLS: usize = 64;
    for t in 0..frames {
        for c0 in (0..n).step_by(COLS) {
            let m = COLS.min(n - c0);
            let mut acc = [0.0f32; COLS];
            let acc = &mut acc[..m];
            for j in 0..ops.count() {
                let op = ops.get(j);
                let x = &op.x[(op.first + t) * op.stride..][..op.cin];
                for (i, &xv) in x.iter().enumerate() {
                    for (a, &wv) in acc.iter_mut().zip(&op.w[i * ops.row + c0..i * ops.row + c0 + m]) {
                        *a = M::mac(*a, wv, xv);
                    }
                }
            }
            store_row(&mut y[t * y_stride + c0..t * y_stride + c0 + m], acc, store, c0, t);
        }
    }
}

/// Applies `store` to output columns `c0..c0 + s.len()` of frame `t`.
#[inline(always)]
pub(crate) fn store_row(y: &mut [f32], s: &[f32], store: Store<'_>, c0: usize, t: usize) {
    let m = s.len();
    match store {
        Store::Set(None) => y.copy_from_slice(s),
        Store::Set(Some(b)) => {
            for ((yo, &so), &bo) in y.iter_mut().zip(s).zip(&b[c0..c0 + m]) {
                *yo = so + bo;
            }
        }
        Store::Add => {
            for (yo, &so) in y.iter_mut().zip(s) {
                *yo += so;
            }
        }
        Store::Residual(bias, r, r_stride) => {
            let r = &r[t * r_stride + c0..t * r_stride + c0 + m];
            match bias {
                Some(b) => {
                    for (((yo, &so), &bo), &ro) in y.iter_mut().zip(s).zip(&b[c0..c0 + m]).zip(r) {
                        *yo = (so + bo) + ro;
                    }
                }
                None => {
                    for ((yo, &so), &ro) in y.iter_mut().zip(s).zip(r) {
                        *yo = so + ro;
                    }
                }
            }
        }
    }
}

/// The portable kernels for targets without hand-written vector tiles: register tiles for the
/// preset widths, the general path otherwise.
#[cfg(not(target_arch = "x86_64"))]
#[inline(never)]
pub(crate) fn product_any(n: usize, ops: &Operands<'_>, frames: usize, y: &mut [f32], ys: usize, st: Store<'_>) {
    use super::Plain;
    match n {
        1 => product::<Plain, 1, 8>(n, ops, frames, y, ys, st),
        2 => product::<Plain, 2, 8>(n, ops, frames, y, ys, st),
        3 => product::<Plain, 3, 8>(n, ops, frames, y, ys, st),
        4 => product::<Plain, 4, 8>(n, ops, frames, y, ys, st),
        8 => product::<Plain, 8, 4>(n, ops, frames, y, ys, st),
        16 => product::<Plain, 16, 2>(n, ops, frames, y, ys, st),
        _ => product::<Plain, 0, 1>(n, ops, frames, y, ys, st),
    }
}
