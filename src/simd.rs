//! Which compiled variant of the kernels a model runs, chosen once when it is built (never on the
//! audio path). The wheel targets baseline x86-64; the same code is compiled again for AVX2 and
//! for AVX2+FMA. The portable and AVX2 variants perform the same operations in the same order
//! (no contraction), so they give bit-identical output; the FMA variant rounds each multiply-add
//! once (in the products and in the exact tanh/exp/sigmoid), which moves results by ~1e-7
//! relative (tests/block_split.rs bounds it at 1e-6 of the peak). Within
//! any one variant the output never depends on how the input is split into blocks.

pub(crate) mod denormals;
pub(crate) mod dense;
#[cfg(target_arch = "x86_64")]
mod lstm_cell;
#[cfg(target_arch = "x86_64")]
pub(crate) mod vmath;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::activation::Activation;
use crate::options::LoadOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernels {
    Portable,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2Fma,
}

impl Kernels {
    /// Portable or AVX2 (no FMA): for architectures whose kernels are not FMA-aware yet.
    pub(crate) fn select(options: &LoadOptions) -> Kernels {
        if options.portable_kernels {
            return Kernels::Portable;
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            return Kernels::Avx2;
        }
        Kernels::Portable
    }

    /// As [`Kernels::select`], upgraded to AVX2+FMA when the CPU has FMA (unless `no_fma_kernels`).
    pub(crate) fn select_fma(options: &LoadOptions) -> Kernels {
        let base = Self::select(options);
        #[cfg(target_arch = "x86_64")]
        if base == Kernels::Avx2 && !options.no_fma_kernels && std::is_x86_feature_detected!("fma") {
            return Kernels::Avx2Fma;
        }
        base
    }
}

/// The multiply-add of a dense product. The kernels are generic over it so that one source gives
/// the twice-rounded (`Plain`) and the fused (`Fused`) variants.
pub(crate) trait Mac {
    fn mac(acc: f32, w: f32, x: f32) -> f32;
}

/// `acc + w·x`, rounded after the product and after the sum (no contraction in Rust).
pub(crate) struct Plain;

/// `fma(w, x, acc)`, rounded once. Only instantiated inside `#[target_feature(enable = "fma")]`
/// functions, where it compiles to `vfmadd`; anywhere else it would be a slow libm call.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct Fused;

impl Mac for Plain {
    #[inline(always)]
    fn mac(acc: f32, w: f32, x: f32) -> f32 {
        acc + w * x
    }
}

impl Mac for Fused {
    #[inline(always)]
    fn mac(acc: f32, w: f32, x: f32) -> f32 {
        w.mul_add(x, acc)
    }
}

/// A compiled variant of the dense kernels: one out-of-line function per variant, compiled with
/// its target features and shared by every call site (inlining the unrolled tiles into every
/// caller multiplies compile time and code size for no gain).
///
/// `Avx2Variant` / `FmaVariant` must only be used after the CPU reported the features, which
/// [`Kernels`] guarantees: the model code names them only on the paths taken for
/// `Kernels::Avx2` / `Kernels::Avx2Fma`.
pub(crate) trait Variant {
    fn product(n: usize, ops: &dense::Operands<'_>, frames: usize, y: &mut [f32], ys: usize, st: dense::Store<'_>);
    /// Applies `func` to channels `0..width` of `frames` frames laid out `stride` floats apart.
    /// Every variant runs the scalar loops, which LLVM vectorises with the variant's features
    /// (8 lanes under AVX2) and multiply-add (fused in the FMA variant): the explicit 8-lane
    /// versions in `vmath` take the same instruction count but measured 10–18% slower on
    /// nano/standard, so they serve the LSTM only.
    fn map_rows(func: Func, x: &mut [f32], frames: usize, stride: usize, width: usize);
    /// One exact LSTM cell step (`wt` `[I+H][4H]`, `b`, input `x`; `h`, `c` updated) when the
    /// variant has a kernel for this hidden size; `false` (nothing done) otherwise. The vector
    /// variants inline it: call it only from code compiled with the variant's features.
    fn lstm_cell(x: &[f32], wt: &[f32], b: &[f32], h: &mut [f32], c: &mut [f32]) -> bool;
}

/// The exact element-wise functions of `crate::math` that the variants run on whole rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Tanh,
    Sigmoid,
    /// `x·sigmoid(x)`.
    SiLU,
}

#[cfg(test)]
impl Func {
    /// The scalar function in the rounding `M` (the reference the vector versions are tested
    /// against; outside FMA-enabled code `Fused` is libm's exact `fmaf`).
    pub(crate) fn scalar<M: Mac>(self, x: f32) -> f32 {
        match self {
            Func::Tanh => crate::math::tanh_with::<M>(x),
            Func::Sigmoid => crate::math::sigmoid_with::<M>(x),
            Func::SiLU => x * crate::math::sigmoid_with::<M>(x),
        }
    }
}

/// The scalar loops (vectorised by LLVM for the features of the variant they are inlined into),
/// in the rounding `M` of the variant.
#[inline(always)]
fn map_rows_scalar<M: Mac>(func: Func, x: &mut [f32], frames: usize, stride: usize, width: usize) {
    macro_rules! rows {
        ($f:expr) => {
            if stride == width {
                x[..frames * width].iter_mut().for_each(|v| *v = $f(*v));
            } else {
                for t in 0..frames {
                    x[t * stride..t * stride + width].iter_mut().for_each(|v| *v = $f(*v));
                }
            }
        };
    }
    match func {
        Func::Tanh => rows!(crate::math::tanh_with::<M>),
        Func::Sigmoid => rows!(crate::math::sigmoid_with::<M>),
        Func::SiLU => rows!(|v: f32| v * crate::math::sigmoid_with::<M>(v)),
    }
}

/// Baseline x86-64 (SSE2), or the target's baseline elsewhere.
pub(crate) struct PortableVariant;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct Avx2Variant;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct FmaVariant;

impl Variant for PortableVariant {
    #[inline(always)]
    fn product(n: usize, ops: &dense::Operands<'_>, frames: usize, y: &mut [f32], ys: usize, st: dense::Store<'_>) {
        #[cfg(target_arch = "x86_64")]
        x86::product_sse(n, ops, frames, y, ys, st);
        #[cfg(not(target_arch = "x86_64"))]
        dense::product_any(n, ops, frames, y, ys, st);
    }
    #[inline(always)]
    fn map_rows(func: Func, x: &mut [f32], frames: usize, stride: usize, width: usize) {
        map_rows_scalar::<Plain>(func, x, frames, stride, width);
    }
    #[inline(always)]
    fn lstm_cell(_: &[f32], _: &[f32], _: &[f32], _: &mut [f32], _: &mut [f32]) -> bool {
        false
    }
}

#[cfg(target_arch = "x86_64")]
impl Variant for Avx2Variant {
    #[inline(always)]
    fn product(n: usize, ops: &dense::Operands<'_>, frames: usize, y: &mut [f32], ys: usize, st: dense::Store<'_>) {
        // SAFETY: see the trait: this variant only runs on CPUs with AVX2.
        unsafe { x86::product_avx2(n, ops, frames, y, ys, st) }
    }
    #[inline(always)]
    fn map_rows(func: Func, x: &mut [f32], frames: usize, stride: usize, width: usize) {
        map_rows_scalar::<Plain>(func, x, frames, stride, width);
    }
    #[inline(always)]
    fn lstm_cell(x: &[f32], wt: &[f32], b: &[f32], h: &mut [f32], c: &mut [f32]) -> bool {
        // SAFETY: as above; the caller is compiled with AVX2 (see the trait).
        unsafe { lstm_cell::step_any::<Plain>(x, wt, b, h, c) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Variant for FmaVariant {
    #[inline(always)]
    fn product(n: usize, ops: &dense::Operands<'_>, frames: usize, y: &mut [f32], ys: usize, st: dense::Store<'_>) {
        // SAFETY: see the trait: this variant only runs on CPUs with AVX2 and FMA.
        unsafe { x86::product_fma(n, ops, frames, y, ys, st) }
    }
    #[inline(always)]
    fn map_rows(func: Func, x: &mut [f32], frames: usize, stride: usize, width: usize) {
        map_rows_scalar::<Fused>(func, x, frames, stride, width);
    }
    #[inline(always)]
    fn lstm_cell(x: &[f32], wt: &[f32], b: &[f32], h: &mut [f32], c: &mut [f32]) -> bool {
        // SAFETY: as above; the caller is compiled with AVX2 and FMA (see the trait).
        unsafe { lstm_cell::step_any::<Fused>(x, wt, b, h, c) }
    }
}

/// [`Activation::apply`], with the exact tanh, sigmoid and SiLU run by the kernel variant `V`
/// (8 lanes per instruction in the AVX2 variants; the same values as the scalar functions).
#[inline(always)]
pub(crate) fn apply_activation<V: Variant>(
    activation: &Activation,
    x: &mut [f32],
    frames: usize,
    stride: usize,
    width: usize,
) {
    let func = match activation {
        Activation::Tanh => Func::Tanh,
        Activation::Sigmoid => Func::Sigmoid,
        Activation::SiLU => Func::SiLU,
        other => return other.apply(x, frames, stride, width),
    };
    V::map_rows(func, x, frames, stride, width);
}

/// Copies `src` into `dst` (equal lengths) with plain vector loads and stores instead of
/// `memcpy`. Why: glibc's `memcpy` moves copies of a few KiB with `rep movsb`, which on this
/// Zen 3 machine runs ~15× slower when the destination lies a little past the source modulo
/// 4 KiB (4096 bytes: 1.44 µs against 0.09 µs for this loop), and a 16-channel WaveNet's
/// 64-frame scratch copies are exactly 4096 bytes, aliased or not depending on where the
/// allocator put them.
#[inline(always)]
pub(crate) fn copy_floats(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "copy_floats lengths");
    // Below 2 KiB glibc copies with vector moves, which beat this loop on short copies.
    if src.len() < 512 {
        dst.copy_from_slice(src);
        return;
    }
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (dc, sc) in (&mut d).zip(&mut s) {
        let v: [f32; 8] = std::array::from_fn(|k| sc[k]);
        dc.copy_from_slice(&v);
    }
    for (x, &y) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *x = y;
    }
}

/// `data.copy_within(from..from + len, 0)` for `from > 0` as [`copy_floats`] does it: front to
/// back in chunks of 8, each read before it is written, which is safe however the two ranges
/// overlap when the destination starts before the source.
#[inline(always)]
pub(crate) fn copy_to_front(data: &mut [f32], from: usize, len: usize) {
    assert!(from > 0 && from + len <= data.len(), "copy_to_front range");
    let p = data.as_mut_ptr();
    let mut i = 0;
    while i + 8 <= len {
        // SAFETY: i + 8 ≤ len and from + len ≤ data.len() (asserted), so both 8-float ranges are
        // inside `data`; the source chunk is read whole before the destination is written.
        unsafe {
            let v = std::ptr::read_unaligned(p.add(from + i).cast::<[f32; 8]>());
            std::ptr::write_unaligned(p.add(i).cast::<[f32; 8]>(), v);
        }
        i += 8;
    }
    for j in i..len {
        data[j] = data[from + j];
    }
}
