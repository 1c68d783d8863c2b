//! Which compiled variant of the kernels a model runs, chosen once when it is built (never on the
//! audio path). The wheel targets baseline x86-64; the same code is compiled again for AVX2 and
//! for AVX2+FMA. The portable and AVX2 variants perform the same operations in the same order
//! (no contraction), so they give bit-identical output; the FMA variant rounds each multiply-add
//! once, which moves results by ~1e-7 relative (tests/block_split.rs bounds it at 1e-6). Within
//! any one variant the output never depends on how the input is split into blocks.

pub(crate) mod denormals;
pub(crate) mod dense;
#[cfg(target_arch = "x86_64")]
mod x86;

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
}

#[cfg(target_arch = "x86_64")]
impl Variant for Avx2Variant {
    #[inline(always)]
    fn product(n: usize, ops: &dense::Operands<'_>, frames: usize, y: &mut [f32], ys: usize, st: dense::Store<'_>) {
        // SAFETY: see the trait: this variant only runs on CPUs with AVX2.
        unsafe { x86::product_avx2(n, ops, frames, y, ys, st) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Variant for FmaVariant {
    #[inline(always)]
    fn product(n: usize, ops: &dense::Operands<'_>, frames: usize, y: &mut [f32], ys: usize, st: dense::Store<'_>) {
        // SAFETY: see the trait: this variant only runs on CPUs with AVX2 and FMA.
        unsafe { x86::product_fma(n, ops, frames, y, ys, st) }
    }
}
