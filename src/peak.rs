//! A microbenchmark of the single-core FP32 multiply-add peak, so that benchmark reports can say
//! what share of the machine a model uses, measured in the same run (shared and turbo-clocked
//! machines drift too much for a fixed constant).
//!
//! The kernel keeps [`CHAINS`] independent accumulators busy: an FMA has a latency of about four
//! cycles and a modern core issues two per cycle, so at least eight chains must be in flight.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Independent accumulator chains (more than latency × issue width on current x86 and ARM cores).
const CHAINS: usize = 12;
/// Lanes per chain: one AVX register of f32.
const LANES: usize = 8;
/// Kernel iterations between two reads of the clock (≈ 35 µs at peak: the clock read is noise).
const ITERATIONS_PER_CHECK: usize = 1 << 14;
/// Floating-point operations of one call of a kernel: 2 per multiply-add lane.
const FLOPS_PER_CALL: f64 = (2 * CHAINS * LANES * ITERATIONS_PER_CHECK) as f64;

/// Runs multiply-adds on every core-local FP unit of this thread for about `seconds` (at least one
/// batch of ≈ 3 MFLOP) and returns the rate in GFLOP/s, counting 2 FLOP per multiply-add.
/// Uses 8-wide FMA when the CPU has AVX2 and FMA (detected at run time), else plain Rust
/// multiply and add (which the compiler vectorises for the baseline target).
pub fn fma_peak_gflops(seconds: f64) -> f64 {
    let budget = Duration::from_secs_f64(if seconds.is_finite() { seconds.clamp(0.0, 3600.0) } else { 0.0 });
    let kernel = choose_kernel();
    // The values converge to 1.0 and stay normal: acc ← acc·0.999999 + 1e-6.
    let mut state = [[0.5f32; LANES]; CHAINS];
    kernel(&mut state); // warm up (clock ramp, page in)
    let start = Instant::now();
    let mut calls = 0u64;
    loop {
        kernel(&mut state);
        calls += 1;
        if start.elapsed() >= budget {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    black_box(&state);
    calls as f64 * FLOPS_PER_CALL / elapsed / 1e9
}

type Kernel = fn(&mut [[f32; LANES]; CHAINS]);

fn choose_kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return x86::fma_kernel;
        }
    }
    portable_kernel
}

/// The fallback: separate multiply and add (a libm `fmaf` call would measure the call, not the
/// FP unit), so it counts 2 FLOP per multiply-add pair as the FMA kernel does.
fn portable_kernel(state: &mut [[f32; LANES]; CHAINS]) {
    let (a, b) = (black_box(0.999_999f32), black_box(1e-6f32));
    let mut acc = *state;
    for _ in 0..ITERATIONS_PER_CHECK {
        for chain in acc.iter_mut() {
            for lane in chain.iter_mut() {
                *lane = *lane * a + b;
            }
        }
    }
    *state = acc;
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{CHAINS, ITERATIONS_PER_CHECK, LANES};
    use std::arch::x86_64::{
        __m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    use std::hint::black_box;

    /// Safe entry point: only chosen after AVX2 and FMA were detected.
    pub(super) fn fma_kernel(state: &mut [[f32; LANES]; CHAINS]) {
        // SAFETY: `choose_kernel` returns this function only when the CPU has AVX2 and FMA.
        unsafe { fma_chains(state) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn fma_chains(state: &mut [[f32; LANES]; CHAINS]) {
        let a = _mm256_set1_ps(black_box(0.999_999));
        let b = _mm256_set1_ps(black_box(1e-6));
        // SAFETY (loads/stores): each row is exactly 8 f32; unaligned access is allowed.
        let mut acc: [__m256; CHAINS] = [_mm256_setzero_ps(); CHAINS];
        for (chain, row) in acc.iter_mut().zip(state.iter()) {
            *chain = _mm256_loadu_ps(row.as_ptr());
        }
        for _ in 0..ITERATIONS_PER_CHECK {
            // A fixed-size array of independent chains: fully unrolled, kept in 12 of 16 registers.
            for chain in acc.iter_mut() {
                *chain = _mm256_fmadd_ps(*chain, a, b);
            }
        }
        for (row, chain) in state.iter_mut().zip(acc) {
            _mm256_storeu_ps(row.as_mut_ptr(), chain);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_is_positive_and_finite() {
        let gflops = fma_peak_gflops(0.01);
        assert!(gflops.is_finite() && gflops > 0.0, "{gflops}");
    }

    #[test]
    fn kernels_compute_the_same_recurrence() {
        // Both kernels run acc ← acc·a + b from 0.5; the closed form is fp + (0.5 − fp)·aⁿ with the
        // fixed point fp = b / (1 − a), in the f32 constants' exact values. Rounding drifts by at
        // most 1.5·2⁻²⁵ a step (< 7.5e-4 in all); the value moves ≈ 8e-3, so skipped iterations fail.
        let mut fused = [[0.5f32; LANES]; CHAINS];
        choose_kernel()(&mut fused);
        let mut plain = [[0.5f32; LANES]; CHAINS];
        portable_kernel(&mut plain);
        let (a, b) = (f64::from(0.999_999f32), f64::from(1e-6f32));
        let fixed_point = b / (1.0 - a);
        let expected = fixed_point + (0.5 - fixed_point) * a.powi(ITERATIONS_PER_CHECK as i32);
        for (f, p) in fused.iter().flatten().zip(plain.iter().flatten()) {
            assert!((f64::from(*f) - expected).abs() < 1e-3, "{f} vs {expected}");
            assert!((f64::from(*p) - expected).abs() < 1e-3, "{p} vs {expected}");
        }
    }
}
