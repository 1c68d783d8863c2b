//! `exp`, `tanh` and the sigmoid of `crate::math` on 8 lanes at a time, for the vector LSTM cell
//! (`lstm_cell`). With `Plain` every lane performs exactly the scalar operations in the scalar order
//! (so the AVX2 variant stays bit-identical to the portable one); with `Fused` the polynomials use
//! fused multiply-adds (one rounding each), which keeps the accuracy class: measured over every
//! float32, tanh is within 1.36 ulp on ±[1e-30, 10] and the sigmoid within 2.48 ulp on
//! ±[1e-30, 80] (the scalar functions: 2 and 3.1 ulp bounds, see `math.rs`).

use std::arch::x86_64::*;

use super::x86::VecMac;
use super::{Fused, Plain};

/// `a·b + c` in the rounding of the variant (twice for `Plain`, once for `Fused`); AVX (+FMA).
pub(crate) trait VecMulAdd: VecMac {
    unsafe fn mul_add8(a: __m256, b: __m256, c: __m256) -> __m256;
}

impl VecMulAdd for Plain {
    #[inline(always)]
    unsafe fn mul_add8(a: __m256, b: __m256, c: __m256) -> __m256 {
        _mm256_add_ps(_mm256_mul_ps(a, b), c)
    }
}

impl VecMulAdd for Fused {
    #[inline(always)]
    unsafe fn mul_add8(a: __m256, b: __m256, c: __m256) -> __m256 {
        _mm256_fmadd_ps(a, b, c)
    }
}

#[inline(always)]
unsafe fn splat(v: f32) -> __m256 {
    _mm256_set1_ps(v)
}

/// `exp_in_range` of `crate::math` on 8 lanes (see there for the method and the constants).
#[inline(always)]
unsafe fn exp8_in_range<M: VecMulAdd>(x: __m256) -> __m256 {
    use crate::math::consts::*;
    let t = M::mul_add8(x, splat(LOG2E), splat(ROUND_MAGIC));
    let n = _mm256_sub_ps(t, splat(ROUND_MAGIC));
    let n_int = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(splat(ROUND_MAGIC)));
    // r = (x − n·LN2_HI) − n·LN2_LO in the scalar order (n·LN2_HI is exact: Cody–Waite).
    let minus_n = _mm256_xor_ps(n, splat(-0.0));
    let r = M::mul_add8(minus_n, splat(LN2_LO), M::mul_add8(minus_n, splat(LN2_HI), x));
    let mut p = splat(EXP_C[6]);
    for &c in EXP_C[..6].iter().rev() {
        p = M::mul_add8(r, p, splat(c));
    }
    let scale = _mm256_slli_epi32::<23>(_mm256_add_epi32(n_int, _mm256_set1_epi32(127)));
    _mm256_mul_ps(p, _mm256_castsi256_ps(scale))
}

/// `crate::math::exp_with` on 8 lanes.
#[inline(always)]
pub(crate) unsafe fn exp8<M: VecMulAdd>(x: __m256) -> __m256 {
    use crate::math::consts::*;
    // max(lo, x) / min(hi, x) return x when it is NaN, as f32::clamp does.
    exp8_in_range::<M>(_mm256_min_ps(splat(EXP_HI), _mm256_max_ps(splat(EXP_LO), x)))
}

/// `crate::math::tanh_with` on 8 lanes.
#[inline(always)]
pub(crate) unsafe fn tanh8<M: VecMulAdd>(x: __m256) -> __m256 {
    use crate::math::consts::*;
    let a = _mm256_andnot_ps(splat(-0.0), x);
    let sign = _mm256_xor_ps(x, a);
    let y = _mm256_mul_ps(a, a);
    let mut q = splat(TANH_P[5]);
    for &c in TANH_P[..5].iter().rev() {
        q = M::mul_add8(y, q, splat(c));
    }
    let small = M::mul_add8(_mm256_mul_ps(a, y), q, a);
    // A NaN lane fails the comparison and keeps `small` (NaN), whatever `e` is there.
    let e = exp8_in_range::<M>(_mm256_mul_ps(splat(2.0), _mm256_min_ps(splat(TANH_CAP), a)));
    let large = _mm256_sub_ps(splat(1.0), _mm256_div_ps(splat(2.0), _mm256_add_ps(e, splat(1.0))));
    let t = _mm256_blendv_ps(small, large, _mm256_cmp_ps::<_CMP_GE_OQ>(a, splat(TANH_SPLIT)));
    _mm256_or_ps(t, sign)
}

/// `crate::math::sigmoid_f32` on 8 lanes: `1 / (1 + e^−x)`.
#[inline(always)]
pub(crate) unsafe fn sigmoid8<M: VecMulAdd>(x: __m256) -> __m256 {
    let e = exp8::<M>(_mm256_xor_ps(x, splat(-0.0)));
    _mm256_div_ps(splat(1.0), _mm256_add_ps(splat(1.0), e))
}

#[cfg(test)]
mod tests {
    use super::super::{Func, Fused, Plain};
    use super::*;

    /// An element-wise function on 8 lanes, in the rounding of `M` (the tests' view of them).
    trait Lanes {
        unsafe fn f8<M: VecMulAdd>(x: __m256) -> __m256;
    }

    struct Tanh;
    struct Sigmoid;
    /// `x·sigmoid(x)` (the SiLU activation's operation order).
    struct SiLU;

    impl Lanes for Tanh {
        #[inline(always)]
        unsafe fn f8<M: VecMulAdd>(x: __m256) -> __m256 {
            tanh8::<M>(x)
        }
    }

    impl Lanes for Sigmoid {
        #[inline(always)]
        unsafe fn f8<M: VecMulAdd>(x: __m256) -> __m256 {
            sigmoid8::<M>(x)
        }
    }

    impl Lanes for SiLU {
        #[inline(always)]
        unsafe fn f8<M: VecMulAdd>(x: __m256) -> __m256 {
            _mm256_mul_ps(x, sigmoid8::<M>(x))
        }
    }

    /// Applies `L` to every element of `x`, the tail (fewer than 8) through a zero-padded vector.
    unsafe fn map<L: Lanes, M: VecMulAdd>(x: &mut [f32]) {
        let mut chunks = x.chunks_exact_mut(8);
        for c in &mut chunks {
            _mm256_storeu_ps(c.as_mut_ptr(), L::f8::<M>(_mm256_loadu_ps(c.as_ptr())));
        }
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            let mut pad = [0.0f32; 8];
            pad[..tail.len()].copy_from_slice(tail);
            _mm256_storeu_ps(pad.as_mut_ptr(), L::f8::<M>(_mm256_loadu_ps(pad.as_ptr())));
            tail.copy_from_slice(&pad[..tail.len()]);
        }
    }

    /// Distance in units in the last place (of the float32 nearest the exact value).
    fn ulps(got: f32, exact: f64) -> f64 {
        let nearest = exact as f32;
        let ulp = (f32::from_bits(nearest.abs().to_bits() + 1) - nearest.abs()) as f64;
        (got as f64 - exact).abs() / ulp
    }

    fn exact(func: Func, x: f64) -> f64 {
        let s = 1.0 / (1.0 + (-x).exp());
        match func {
            Func::Tanh => x.tanh(),
            Func::Sigmoid => s,
            Func::SiLU => x * s,
        }
    }

    /// Runs the vector version of `func` (rounding `M`) over every float32 in ±[lo, hi] whose
    /// bit pattern is a multiple of `stride` away from `lo`, 8 at a time; returns the worst ulp
    /// distance from the exact value and whether every result equals the scalar function's in
    /// the same rounding (the function the FMA variant's activation loops run).
    fn sweep<M: VecMulAdd + crate::simd::Mac>(func: Func, lo: f32, hi: f32, stride: u32) -> (f64, bool) {
        let (mut worst, mut same) = (0.0f64, true);
        let mut bits = lo.to_bits();
        let mut batch = Vec::with_capacity(4096);
        while f32::from_bits(bits) <= hi || !batch.is_empty() {
            let x = f32::from_bits(bits);
            if x <= hi {
                batch.extend([x, -x]);
                bits += stride;
            }
            if batch.len() >= 4096 || x > hi {
                let mut y = batch.clone();
                // SAFETY: the callers check the CPU features first.
                unsafe {
                    match func {
                        Func::Tanh => map::<Tanh, M>(&mut y),
                        Func::Sigmoid => map::<Sigmoid, M>(&mut y),
                        Func::SiLU => map::<SiLU, M>(&mut y),
                    }
                }
                for (&x, &y) in batch.iter().zip(&y) {
                    same &= y.to_bits() == func.scalar::<M>(x).to_bits();
                    worst = worst.max(ulps(y, exact(func, x as f64)));
                }
                batch.clear();
            }
        }
        (worst, same)
    }

    #[target_feature(enable = "avx2")]
    unsafe fn sweep_plain(func: Func, lo: f32, hi: f32, stride: u32) -> (f64, bool) {
        sweep::<Plain>(func, lo, hi, stride)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn sweep_fused(func: Func, lo: f32, hi: f32, stride: u32) -> (f64, bool) {
        sweep::<Fused>(func, lo, hi, stride)
    }

    fn features() -> bool {
        let ok = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        if !ok {
            eprintln!("SKIPPED: this CPU has no AVX2+FMA");
        }
        ok
    }

    /// The AVX2 lanes are the scalar functions bit for bit (what keeps AVX2 ≡ portable).
    #[test]
    fn plain_lanes_equal_the_scalar_functions() {
        if !features() {
            return;
        }
        for (func, hi) in [(Func::Tanh, 12.0), (Func::Sigmoid, 90.0), (Func::SiLU, 90.0)] {
            // SAFETY: features() checked AVX2.
            let (_, same) = unsafe { sweep_plain(func, 1e-30, hi, 997) };
            assert!(same, "{func:?}: AVX2 lanes differ from the scalar function");
        }
        let mut special = [f32::NAN, 0.0, -0.0, 1e4, -1e4, 0.625, -0.625, 88.5, -88.5];
        // SAFETY: as above (the map is run inside an AVX2 function by `sweep_plain`'s sibling).
        unsafe { map_plain_tanh(&mut special) };
        assert!(special[0].is_nan());
        assert_eq!(&special[1..5], &[0.0, -0.0, 1.0, -1.0]);
    }

    #[target_feature(enable = "avx2")]
    unsafe fn map_plain_tanh(x: &mut [f32]) {
        map::<Tanh, Plain>(x)
    }

    /// With FMA the worst error over ±[1e-30, hi], every `stride`-th float32 (tanh, sigmoid).
    fn fused_errors(stride: u32) -> (f64, f64) {
        // SAFETY: the callers checked AVX2 and FMA.
        let (tanh, same_tanh) = unsafe { sweep_fused(Func::Tanh, 1e-30, 10.0, stride) };
        let (sigmoid, same_sigmoid) = unsafe { sweep_fused(Func::Sigmoid, 1e-30, 80.0, stride) };
        assert!(same_tanh && same_sigmoid, "FMA lanes differ from the fused scalar functions");
        eprintln!("max error with FMA (stride {stride}): tanh {tanh:.3} ulp, sigmoid {sigmoid:.3} ulp");
        (tanh, sigmoid)
    }

    /// With FMA the functions keep the scalar ones' accuracy (NAM Core's own float32 sigmoid
    /// formula 1/(1 + expf(−x)) is 3.1 ulp from the exact value).
    #[test]
    fn fused_lanes_stay_within_the_documented_ulp() {
        if !features() {
            return;
        }
        let (tanh, sigmoid) = fused_errors(101);
        assert!(tanh <= 2.0 && sigmoid <= 3.0, "with FMA: tanh {tanh} ulp, sigmoid {sigmoid} ulp");
    }

    /// The same over every float32 in those ranges (about a minute in release:
    /// `cargo test --release --lib every_float -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn fused_lanes_every_float() {
        if !features() {
            return;
        }
        let (tanh, sigmoid) = fused_errors(1);
        assert!(tanh <= 2.0 && sigmoid <= 3.0, "with FMA: tanh {tanh} ulp, sigmoid {sigmoid} ulp");
    }
}
