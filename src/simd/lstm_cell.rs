//! One LSTM cell step for hidden sizes that are multiples of 8, with the gates in AVX registers:
//! `gates = W·[x; h] + b` as `4·Q` vector running sums over the columns (each weight column
//! loaded once), then σ/tanh on the gate vectors and the cell update, without leaving registers.
//! Each lane performs the portable code's operations in its order (`s = 0; s += w·x` over the
//! columns, then the bias; `c = σ(f)·c + σ(i)·tanh(g)`, `h = σ(o)·tanh(c)`), so with `Plain` the
//! result is bit-identical to it; `Fused` rounds each multiply-add once.

use std::arch::x86_64::*;

use super::vmath::{sigmoid8, tanh8, VecMulAdd};

/// Hidden size `8·Q`. `wt` is the `[I + H][4H]` transposed weight matrix, `b` the `4H` biases,
/// `x` the `I` inputs; `h` and `c` are read and overwritten. Safety: AVX2 (and FMA for `Fused`).
#[inline(always)]
pub(crate) unsafe fn step<M: VecMulAdd, const Q: usize>(
    x: &[f32],
    wt: &[f32],
    b: &[f32],
    h: &mut [f32],
    c: &mut [f32],
) {
    let hidden = 8 * Q;
    let rows = 4 * hidden;
    assert!(h.len() == hidden && c.len() == hidden && b.len() == rows && wt.len() == (x.len() + hidden) * rows);
    let mut acc: [[__m256; Q]; 4] = std::array::from_fn(|_| std::array::from_fn(|_| _mm256_setzero_ps()));
    // In bounds: one column of `rows` floats per input and per hidden value (asserted above).
    let column = |k: usize| wt.as_ptr().add(k * rows);
    for (k, &v) in x.iter().enumerate() {
        add_column::<M, Q>(&mut acc, column(k), v);
    }
    for (k, &v) in h.iter().enumerate() {
        add_column::<M, Q>(&mut acc, column(x.len() + k), v);
    }
    let (bp, hp, cp) = (b.as_ptr(), h.as_mut_ptr(), c.as_mut_ptr());
    // `q` picks the same 8 hidden units in each gate's accumulators, the biases, `c` and `h`.
    #[allow(clippy::needless_range_loop)]
    for q in 0..Q {
        let mut z = [_mm256_setzero_ps(); 4];
        for (gate, z) in z.iter_mut().enumerate() {
            *z = _mm256_add_ps(acc[gate][q], _mm256_loadu_ps(bp.add(gate * hidden + 8 * q)));
        }
        let (i, f, g, o) = (sigmoid8::<M>(z[0]), sigmoid8::<M>(z[1]), tanh8::<M>(z[2]), sigmoid8::<M>(z[3]));
        let c_new = M::mul_add8(f, _mm256_loadu_ps(cp.add(8 * q)), _mm256_mul_ps(i, g));
        _mm256_storeu_ps(cp.add(8 * q), c_new);
        _mm256_storeu_ps(hp.add(8 * q), _mm256_mul_ps(o, tanh8::<M>(c_new)));
    }
}

/// `acc += column·v` for one column of `32·Q` gate weights.
#[inline(always)]
unsafe fn add_column<M: VecMulAdd, const Q: usize>(acc: &mut [[__m256; Q]; 4], column: *const f32, v: f32) {
    let v = _mm256_set1_ps(v);
    for (gate, a) in acc.iter_mut().enumerate() {
        for (q, a) in a.iter_mut().enumerate() {
            *a = M::mac8(*a, _mm256_loadu_ps(column.add(gate * 8 * Q + 8 * q)), v);
        }
    }
}

/// [`step`] for the hidden sizes it is compiled for (8, 16, 24, 32); `false` for any other.
/// Safety: as [`step`].
#[inline(always)]
pub(crate) unsafe fn step_any<M: VecMulAdd>(x: &[f32], wt: &[f32], b: &[f32], h: &mut [f32], c: &mut [f32]) -> bool {
    match h.len() {
        8 => step::<M, 1>(x, wt, b, h, c),
        16 => step::<M, 2>(x, wt, b, h, c),
        24 => step::<M, 3>(x, wt, b, h, c),
        32 => step::<M, 4>(x, wt, b, h, c),
        _ => return false,
    }
    true
}
