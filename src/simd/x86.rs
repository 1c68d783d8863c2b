//! Explicit x86-64 vector tiles for the dense products (LLVM scalarises the `F × N` register tile
//! of the portable code and spills it). Accumulators are whole vectors: `V` AVX registers of 8
//! output channels plus `H` SSE registers of 4, for each of `F` frames; weight rows are padded to
//! `8·V + 4·H` floats. Every lane does what the portable kernel does for its output element —
//! `s = mac(s, w, x)` over the operands and inputs in order, then the store — so results match it
//! bit for bit with `Plain`, and tile widths never change a result.

use std::arch::x86_64::*;

use super::dense::{store_row, Operands, Store};
use super::{Fused, Plain};

/// The vector form of [`super::Mac`]. `mac8` needs AVX (and FMA for `Fused`), `mac4` SSE (FMA
/// for `Fused`): callers are compiled with those features.
pub(crate) trait VecMac {
    unsafe fn mac8(acc: __m256, w: __m256, x: __m256) -> __m256;
    unsafe fn mac4(acc: __m128, w: __m128, x: __m128) -> __m128;
}

impl VecMac for Plain {
    #[inline(always)]
    unsafe fn mac8(acc: __m256, w: __m256, x: __m256) -> __m256 {
        _mm256_add_ps(acc, _mm256_mul_ps(w, x))
    }
    #[inline(always)]
    unsafe fn mac4(acc: __m128, w: __m128, x: __m128) -> __m128 {
        _mm_add_ps(acc, _mm_mul_ps(w, x))
    }
}

impl VecMac for Fused {
    #[inline(always)]
    unsafe fn mac8(acc: __m256, w: __m256, x: __m256) -> __m256 {
        _mm256_fmadd_ps(w, x, acc)
    }
    #[inline(always)]
    unsafe fn mac4(acc: __m128, w: __m128, x: __m128) -> __m128 {
        _mm_fmadd_ps(w, x, acc)
    }
}

/// Tiles of `F` frames, then single frames for the rest (the 1-frame path is a plain GEMV).
/// `MASK`: rows narrower than the padded width are stored with AVX masked loads and stores
/// (else element by element). Safety: the caller is compiled with AVX when `V > 0` or `MASK`
/// (and FMA for `Fused`).
#[inline(always)]
pub(crate) unsafe fn product<M: VecMac, const V: usize, const H: usize, const F: usize, const MASK: bool>(
    n: usize,
    ops: &Operands<'_>,
    frames: usize,
    y: &mut [f32],
    y_stride: usize,
    store: Store<'_>,
) {
    let tail = Tail::new::<V, H, MASK>(n);
    let mut t = 0;
    if F > 1 {
        while t + F <= frames {
            tile::<M, V, H, F, MASK>(n, ops, t, y, y_stride, store, &tail);
            t += F;
        }
    }
    while t < frames {
        tile::<M, V, H, 1, MASK>(n, ops, t, y, y_stride, store, &tail);
        t += 1;
    }
}

/// Where a row is narrower than its padded width, only the last vector is partial (the padding
/// is under 4 floats, or under 8 in an all-8-lane tile); its lane mask, computed once per product.
struct Tail {
    partial: bool,
    m8: __m256i,
    m4: __m128i,
}

impl Tail {
    /// Safety: with `MASK` the caller is compiled with AVX2.
    #[inline(always)]
    unsafe fn new<const V: usize, const H: usize, const MASK: bool>(n: usize) -> Tail {
        let row = 8 * V + 4 * H;
        if !MASK || n == row {
            // No vector instruction: this also runs in the SSE-only variant.
            return Tail { partial: false, m8: std::mem::zeroed(), m4: std::mem::zeroed() };
        }
        let lanes = n as i32 - (row as i32 - if H > 0 { 4 } else { 8 });
        let m8 = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        let m4 = _mm_cmpgt_epi32(_mm_set1_epi32(lanes), _mm_setr_epi32(0, 1, 2, 3));
        Tail { partial: true, m8, m4 }
    }
}

#[inline(always)]
unsafe fn tile<M: VecMac, const V: usize, const H: usize, const F: usize, const MASK: bool>(
    n: usize,
    ops: &Operands<'_>,
    t0: usize,
    y: &mut [f32],
    y_stride: usize,
    store: Store<'_>,
    tail: &Tail,
) {
    let row = 8 * V + 4 * H;
    assert!(ops.row == row && n <= row, "padded weight rows");
    // `from_fn` rather than `[expr; V]`: with V = 0 no AVX instruction may be emitted at all.
    let mut a8: [[__m256; V]; F] = std::array::from_fn(|_| std::array::from_fn(|_| _mm256_setzero_ps()));
    let mut a4: [[__m128; H]; F] = std::array::from_fn(|_| std::array::from_fn(|_| _mm_setzero_ps()));
    for j in 0..ops.count() {
        let op = ops.get(j);
        assert_eq!(op.w.len(), op.cin * row, "weight rows");
        let base = (op.first + t0) * op.stride;
        let xs = &op.x[base..base + (F - 1) * op.stride + op.cin];
        let (xp, wp) = (xs.as_ptr(), op.w.as_ptr());
        // Narrow inputs (nano's 4 and 2 channels, A2 Lite's 3, a mono condition) get fully unrolled loops: with
        // few inputs the loop counters cost as much as the multiply-adds. (Unrolling 8 and 16 too
        // saved 2% more instructions on the standard WaveNet but made nano 45% slower.)
        match op.cin {
            1 => rows::<M, V, H, F, 1>(&mut a8, &mut a4, xp, wp, op.stride, 1),
            2 => rows::<M, V, H, F, 2>(&mut a8, &mut a4, xp, wp, op.stride, 2),
            3 => rows::<M, V, H, F, 3>(&mut a8, &mut a4, xp, wp, op.stride, 3),
            4 => rows::<M, V, H, F, 4>(&mut a8, &mut a4, xp, wp, op.stride, 4),
            cin => rows::<M, V, H, F, 0>(&mut a8, &mut a4, xp, wp, op.stride, cin),
        }
    }
    for f in 0..F {
        let t = t0 + f;
        if n == row || MASK {
            store_vectors::<V, H>(&a8[f], &a4[f], &mut y[t * y_stride..t * y_stride + n], store, t, tail);
        } else {
            let mut sums = [0.0f32; 32];
            let sp = sums.as_mut_ptr();
            for (v, &s) in a8[f].iter().enumerate() {
                _mm256_storeu_ps(sp.add(8 * v), s);
            }
            for (h, &s) in a4[f].iter().enumerate() {
                _mm_storeu_ps(sp.add(8 * V + 4 * h), s);
            }
            store_row(&mut y[t * y_stride..t * y_stride + n], &sums[..n], store, 0, t);
        }
    }
}

/// The running sums over input rows `0..cin` of one operand (`cin = C` when `C > 0`, a
/// compile-time trip count). Safety: `wp` holds `cin` rows of `8·V + 4·H` floats and
/// `xp[f·stride + i]` is in bounds for `f < F`, `i < cin` (checked by the caller).
#[inline(always)]
unsafe fn rows<M: VecMac, const V: usize, const H: usize, const F: usize, const C: usize>(
    a8: &mut [[__m256; V]; F],
    a4: &mut [[__m128; H]; F],
    xp: *const f32,
    wp: *const f32,
    stride: usize,
    cin: usize,
) {
    let row = 8 * V + 4 * H;
    let cin = if C > 0 { C } else { cin };
    for i in 0..cin {
        let wr = wp.add(i * row);
        let w8: [__m256; V] = std::array::from_fn(|v| _mm256_loadu_ps(wr.add(8 * v)));
        let w4: [__m128; H] = std::array::from_fn(|h| _mm_loadu_ps(wr.add(8 * V + 4 * h)));
        for f in 0..F {
            let x = *xp.add(f * stride + i);
            for v in 0..V {
                a8[f][v] = M::mac8(a8[f][v], w8[v], _mm256_set1_ps(x));
            }
            for h in 0..H {
                a4[f][h] = M::mac4(a4[f][h], w4[h], _mm_set1_ps(x));
            }
        }
    }
}

/// [`store_row`] straight from the registers: the same additions in the same order, on whole
/// vectors. `y` holds the row's `n` outputs: the padded width, or with a partial `tail` less,
/// where the last vector goes through AVX masked loads and stores of its first lanes.
#[inline(always)]
unsafe fn store_vectors<const V: usize, const H: usize>(
    a8: &[__m256; V],
    a4: &[__m128; H],
    y: &mut [f32],
    store: Store<'_>,
    t: usize,
    tail: &Tail,
) {
    let n = y.len();
    let row = 8 * V + 4 * H;
    assert!(n == row || (tail.partial && n < row && n > row - if H > 0 { 4 } else { 8 }));
    let yp = y.as_mut_ptr();
    // Pointers to the bias and the row added last, each `n` floats long (checked by slicing).
    // `Add` is y + s, `Residual` (s + b) + r: operands in the scalar order (NaN payloads too).
    let (bias, added, added_first) = match store {
        Store::Set(b) => (b.map(|b| b[..n].as_ptr()), None, false),
        Store::Add => (None, Some(yp.cast_const()), true),
        Store::Residual(b, r, rs) => (b.map(|b| b[..n].as_ptr()), Some(r[t * rs..t * rs + n].as_ptr()), false),
    };
    for (v, &sum) in a8.iter().enumerate() {
        let at = 8 * v;
        let mut s = sum;
        if tail.partial && H == 0 && v + 1 == V {
            // Reached only with a partial tail, which only AVX2-compiled callers create.
            let m = tail.m8;
            if let Some(b) = bias {
                s = _mm256_add_ps(s, _mm256_maskload_ps(b.add(at), m));
            }
            if let Some(r) = added {
                let r = _mm256_maskload_ps(r.add(at), m);
                s = if added_first { _mm256_add_ps(r, s) } else { _mm256_add_ps(s, r) };
            }
            _mm256_maskstore_ps(yp.add(at), m, s);
            continue;
        }
        if let Some(b) = bias {
            s = _mm256_add_ps(s, _mm256_loadu_ps(b.add(at)));
        }
        if let Some(r) = added {
            let r = _mm256_loadu_ps(r.add(at));
            s = if added_first { _mm256_add_ps(r, s) } else { _mm256_add_ps(s, r) };
        }
        _mm256_storeu_ps(yp.add(at), s);
    }
    for (h, &sum) in a4.iter().enumerate() {
        let at = 8 * V + 4 * h;
        let mut s = sum;
        if tail.partial && h + 1 == H {
            let m = tail.m4;
            if let Some(b) = bias {
                s = _mm_add_ps(s, _mm_maskload_ps(b.add(at), m));
            }
            if let Some(r) = added {
                let r = _mm_maskload_ps(r.add(at), m);
                s = if added_first { _mm_add_ps(r, s) } else { _mm_add_ps(s, r) };
            }
            _mm_maskstore_ps(yp.add(at), m, s);
            continue;
        }
        if let Some(b) = bias {
            s = _mm_add_ps(s, _mm_loadu_ps(b.add(at)));
        }
        if let Some(r) = added {
            let r = _mm_loadu_ps(r.add(at));
            s = if added_first { _mm_add_ps(r, s) } else { _mm_add_ps(s, r) };
        }
        _mm_storeu_ps(yp.add(at), s);
    }
}

/// Widths (padded rows) with a vector tile in the AVX variants; `None`: use the general kernel.
macro_rules! avx_widths {
    ($m:ty, $row:expr, $($arg:expr),*) => {
        match $row {
            4 => product::<$m, 0, 1, 8, true>($($arg),*),
            8 => product::<$m, 1, 0, 8, true>($($arg),*),
            12 => product::<$m, 1, 1, 4, true>($($arg),*),
            16 => product::<$m, 2, 0, 4, true>($($arg),*),
            24 => product::<$m, 3, 0, 2, true>($($arg),*),
            32 => product::<$m, 4, 0, 2, true>($($arg),*),
            _ => super::dense::product::<$m, 0, 1>($($arg),*),
        }
    };
}

/// Baseline SSE2 (part of x86-64): 4-lane tiles only, sized to ~8 of the 16 registers.
#[inline(never)]
pub(crate) fn product_sse(n: usize, ops: &Operands<'_>, frames: usize, y: &mut [f32], ys: usize, st: Store<'_>) {
    // SAFETY: V = 0, so only SSE instructions, which every x86-64 CPU has.
    unsafe {
        match ops.row {
            4 => product::<Plain, 0, 1, 8, false>(n, ops, frames, y, ys, st),
            8 => product::<Plain, 0, 2, 4, false>(n, ops, frames, y, ys, st),
            12 => product::<Plain, 0, 3, 2, false>(n, ops, frames, y, ys, st),
            16 => product::<Plain, 0, 4, 2, false>(n, ops, frames, y, ys, st),
            24 => product::<Plain, 0, 6, 1, false>(n, ops, frames, y, ys, st),
            32 => product::<Plain, 0, 8, 1, false>(n, ops, frames, y, ys, st),
            _ => super::dense::product::<Plain, 0, 1>(n, ops, frames, y, ys, st),
        }
    }
}

/// AVX2 without FMA (bit-identical to [`product_sse`]). Safety: the CPU has AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn product_avx2(
    n: usize,
    ops: &Operands<'_>,
    frames: usize,
    y: &mut [f32],
    ys: usize,
    st: Store<'_>,
) {
    avx_widths!(Plain, ops.row, n, ops, frames, y, ys, st)
}

/// AVX2 + FMA. Safety: the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn product_fma(n: usize, ops: &Operands<'_>, frames: usize, y: &mut [f32], ys: usize, st: Store<'_>) {
    avx_widths!(Fused, ops.row, n, ops, frames, y, ys, st)
}

#[cfg(test)]
mod tests {
    use super::super::dense::{self, Operand, Operands, Store};
    use super::super::Plain;

    /// Deterministic values in [−1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    type Kernel = unsafe fn(usize, &Operands<'_>, usize, &mut [f32], usize, Store<'_>);

    /// Every output width 1–33 (each tile, the partial-vector tails, the general path), with
    /// 1–5 and 16 inputs, 1–3 taps, an extra operand or not, every store, 1–19 frames: the
    /// SSE and AVX2 kernels give the general portable kernel's bits, AVX2+FMA agrees within
    /// 64e-6: 1e-6 of a bound on the sum of |terms| (≤ 50 products of values in [−1, 1), plus
    /// the store's bias and addend).
    #[test]
    fn vector_tiles_match_the_portable_kernel() {
        let avx2 = is_x86_feature_detected!("avx2");
        let fma = avx2 && is_x86_feature_detected!("fma");
        let mut kernels: Vec<(&str, Kernel, bool)> =
            vec![("sse", |n, o, f, y, s, st| super::product_sse(n, o, f, y, s, st), true)];
        if avx2 {
            kernels.push(("avx2", super::product_avx2 as Kernel, true));
        } else {
            eprintln!("SKIPPED the AVX2 kernels: this CPU has no AVX2");
        }
        if fma {
            kernels.push(("fma", super::product_fma as Kernel, false));
        }
        let mut cases = 0;
        for n in 1..=33usize {
            let row = n.next_multiple_of(4);
            for (cin, taps, extra) in
                [(1, 1, false), (2, 3, true), (3, 2, false), (4, 3, true), (5, 1, true), (16, 3, false)]
            {
                let (dilation, frames_max, stride) = (2, 19, cin + 1);
                let start = (taps - 1) * dilation;
                let x = values((start + frames_max) * stride, (n * 31 + cin) as u64);
                let mut w = values(taps * cin * row, (n * 7 + taps) as u64);
                // The padding lanes of each weight row are zero, as Conv builds them.
                for r in w.chunks_mut(row) {
                    r[n..].fill(0.0);
                }
                let (xe, we) = (values(frames_max * 2, n as u64), values(2 * row, 99));
                let ops = Operands {
                    x: &x,
                    stride,
                    start,
                    cin,
                    taps,
                    dilation,
                    w: &w,
                    row,
                    extra: extra.then_some(Operand { x: &xe, stride: 2, first: 0, cin: 2, w: &we }),
                };
                let bias = values(n, 5);
                let resid = values(frames_max * (n + 2), 6);
                let y0 = values(frames_max * (n + 1), 7);
                let stores = [
                    Store::Set(None),
                    Store::Set(Some(&bias)),
                    Store::Add,
                    Store::Residual(Some(&bias), &resid, n + 2),
                    Store::Residual(None, &resid, n + 2),
                ];
                for store in stores {
                    for frames in [1, 5, 19] {
                        let y_stride = n + 1;
                        let mut want = y0.clone();
                        dense::product::<Plain, 0, 1>(n, &ops, frames, &mut want, y_stride, store);
                        for &(name, kernel, exact) in &kernels {
                            let mut got = y0.clone();
                            // SAFETY: each kernel was listed only if the CPU has its features.
                            unsafe { kernel(n, &ops, frames, &mut got, y_stride, store) };
                            for (i, (&g, &e)) in got.iter().zip(&want).enumerate() {
                                let ok = if exact { g.to_bits() == e.to_bits() } else { (g - e).abs() <= 1e-6 * 64.0 };
                                assert!(
                                    ok,
                                    "{name}: n {n} cin {cin} taps {taps} frames {frames} element {i}: {g} vs {e}"
                                );
                            }
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert!(cases > 0);
    }
}
