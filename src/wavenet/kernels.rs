//! The WaveNet's per-chunk computation: every layer array over a chunk of frames (dilated conv,
//! input mixin, FiLMs, gating, layer and head 1×1s), then the head and post-stack head. Kept apart
//! from `mod.rs` (building, state, dispatch) so the hot loop reads on its own.

use super::config::{
    Gating, ACTIVATION_POST, ACTIVATION_PRE, CONV_POST, CONV_PRE, HEAD1X1_POST, LAYER1X1_POST, MIXIN_POST, MIXIN_PRE,
};
use super::{Layer, Scratch, WaveNet, MAX_FRAMES};
use crate::simd::{apply_activation, copy_floats, Variant};

impl WaveNet {
    /// Runs `frames` frames from `scratch.u` into `scratch.out`. With `steady` (one frame of
    /// silence), every history is first filled with the column the frame writes, which yields the
    /// steady state under a constant input.
    #[inline(always)]
    pub(super) fn run<V: Variant>(&mut self, frames: usize, steady: bool) {
        debug_assert!(frames <= MAX_FRAMES);
        let w = &*self.weights;
        let n_in = w.in_channels;
        if let Some(cd) = &mut self.condition {
            let (u, cond) = (&self.scratch.u[..frames * n_in], &mut self.scratch.cond[..frames * w.cond_channels]);
            cd.process(u, cond, steady);
        }
        let Scratch { u, cond, x_cur, x_next, z, zm, q, film, h, head_out, out } = &mut self.scratch;
        let dc = w.cond_channels;
        let c_buf: &[f32] = if self.condition.is_some() { cond } else { u };
        let n_arrays = w.arrays.len();
        for (a, (array, state)) in w.arrays.iter().zip(self.arrays.iter_mut()).enumerate() {
            let (c, b, hin) = (array.channels, array.bottleneck, array.head_input);
            // x₀ = rechannel(array input): the model input, or the previous array's residual output.
            let in_ch = array.rechannel.in_channels;
            if a == 0 {
                array.rechannel.apply_1x1_with::<V>(u, in_ch, frames, x_next, c);
            } else {
                array.rechannel.apply_1x1_with::<V>(x_cur, in_ch, frames, x_next, c);
            }
            std::mem::swap(x_cur, x_next);
            // The head accumulator starts at the previous array's head output (or zero).
            let head_start = state.head_ring.prepare(frames);
            let s = state.head_ring.frames_mut(head_start, frames);
            if a == 0 {
                s.fill(0.0);
            } else {
                copy_floats(s, &head_out[..frames * hin]);
            }

            let n_layers = array.layers.len();
            for (l, layer) in array.layers.iter().enumerate() {
                let g = layer.conv.out_channels;
                let film_at = |site: usize| layer.films[site].as_ref();
                // The dilated conv's input (kept in its history): x, or FiLM(x).
                let ring = &mut state.rings[l];
                let start = ring.prepare(frames);
                let p = ring.frames_mut(start, frames);
                copy_floats(p, &x_cur[..frames * c]);
                if let Some(f) = film_at(CONV_PRE) {
                    f.apply::<V>(p, c, c_buf, dc, frames, film);
                }
                if steady {
                    ring.fill_history_from(start);
                }
                let fused_mixin = [CONV_POST, MIXIN_PRE, MIXIN_POST].iter().all(|&site| film_at(site).is_none());
                if fused_mixin {
                    // z = conv(x) + mixin(condition) in one running sum per output.
                    layer.conv.apply_with::<V>(ring.data(), start, frames, Some((&layer.mixin, c_buf, dc)), z, g);
                } else {
                    layer.conv.apply_with::<V>(ring.data(), start, frames, None, z, g);
                    if let Some(f) = film_at(CONV_POST) {
                        f.apply::<V>(z, g, c_buf, dc, frames, film);
                    }
                    // z = conv + mixin(condition), with the mixin's FiLMs where present.
                    if film_at(MIXIN_PRE).is_some() || film_at(MIXIN_POST).is_some() {
                        let source: &[f32] = match film_at(MIXIN_PRE) {
                            Some(f) => {
                                copy_floats(&mut q[..frames * dc], &c_buf[..frames * dc]);
                                f.apply::<V>(q, dc, c_buf, dc, frames, film);
                                q
                            }
                            None => c_buf,
                        };
                        layer.mixin.apply_1x1_with::<V>(source, dc, frames, zm, g);
                        if let Some(f) = film_at(MIXIN_POST) {
                            f.apply::<V>(zm, g, c_buf, dc, frames, film);
                        }
                        for (zv, &mv) in z[..frames * g].iter_mut().zip(&zm[..frames * g]) {
                            *zv += mv;
                        }
                    } else {
                        layer.mixin.accumulate_1x1_with::<V>(c_buf, dc, frames, z, g);
                    }
                }
                if let Some(f) = film_at(ACTIVATION_PRE) {
                    f.apply::<V>(z, g, c_buf, dc, frames, film);
                }
                activate::<V>(layer, z, frames, b);
                if let Some(f) = film_at(ACTIVATION_POST) {
                    f.apply::<V>(z, g, c_buf, dc, frames, film);
                }
                // Head contribution: head1x1(a) (+ its FiLM), or a itself.
                let (hsrc, hstride): (&[f32], usize) = match &layer.head1x1 {
                    Some(h1) => {
                        h1.apply_1x1_with::<V>(z, g, frames, h, hin);
                        if let Some(f) = film_at(HEAD1X1_POST) {
                            f.apply::<V>(h, hin, c_buf, dc, frames, film);
                        }
                        (h, hin)
                    }
                    None => (z, g),
                };
                let s = state.head_ring.frames_mut(head_start, frames);
                if hstride == hin {
                    for (sv, &av) in s.iter_mut().zip(&hsrc[..frames * hin]) {
                        *sv += av;
                    }
                } else {
                    for t in 0..frames {
                        for (sv, &av) in s[t * hin..(t + 1) * hin].iter_mut().zip(&hsrc[t * hstride..]) {
                            *sv += av;
                        }
                    }
                }
                // Residual: next = x + layer1x1(a) (NAM Core applies layer1x1_post_film only in
                // blended layers, the trainer in all), or next = x when the layer1x1 is inactive
                // (the trainer: x + a). The last array's last residual is never used.
                if l + 1 == n_layers && a + 1 == n_arrays {
                    continue;
                }
                let post_film = film_at(LAYER1X1_POST)
                    .filter(|_| layer.trainer_residual || matches!(layer.gating, Gating::Blended(_)));
                match (&layer.layer1x1, post_film) {
                    (Some(l1), None) => l1.apply_1x1_residual::<V>(z, g, frames, x_cur, c, x_next, c),
                    (Some(l1), Some(f)) => {
                        l1.apply_1x1_with::<V>(z, g, frames, x_next, c);
                        f.apply::<V>(x_next, c, c_buf, dc, frames, film);
                        for (nv, &xv) in x_next[..frames * c].iter_mut().zip(&x_cur[..frames * c]) {
                            *nv += xv;
                        }
                    }
                    // b == c here (checked at parse), so the activation's rows line up with x's.
                    (None, _) if layer.trainer_residual => {
                        for t in 0..frames {
                            let (xs, zs) = (&x_cur[t * c..(t + 1) * c], &z[t * g..t * g + c]);
                            for ((nv, &xv), &av) in x_next[t * c..(t + 1) * c].iter_mut().zip(xs).zip(zs) {
                                *nv = xv + av;
                            }
                        }
                    }
                    (None, _) => copy_floats(&mut x_next[..frames * c], &x_cur[..frames * c]),
                }
                std::mem::swap(x_cur, x_next);
            }
            if steady {
                state.head_ring.fill_history_from(head_start);
            }
            let head_rows = array.head.out_channels;
            array.head.apply_with::<V>(state.head_ring.data(), head_start, frames, None, head_out, head_rows);
            for ring in &mut state.rings {
                ring.advance(frames);
            }
            state.head_ring.advance(frames);
        }
        let scale = w.head_scale;
        let (Some(act), false) = (&w.post_activation, w.post_head.is_empty()) else {
            let n_out = w.out_channels;
            for (y, &hv) in out[..frames * n_out].iter_mut().zip(&head_out[..frames * n_out]) {
                *y = scale * hv;
            }
            return;
        };
        // Post-stack head: v₀ = head_scale·head; v_{j+1} = conv_j(act(v_j)); the activated input is
        // what each convolution keeps in its history.
        let n_post = w.post_head.len();
        for (j, (conv, ring)) in w.post_head.iter().zip(self.post_rings.iter_mut()).enumerate() {
            let cin = conv.in_channels;
            let start = ring.prepare(frames);
            let dst = ring.frames_mut(start, frames);
            if j == 0 {
                for (d, &hv) in dst.iter_mut().zip(&head_out[..frames * cin]) {
                    *d = scale * hv;
                }
            } else {
                copy_floats(dst, &z[..frames * cin]);
            }
            apply_activation::<V>(act, dst, frames, cin, cin);
            if steady {
                ring.fill_history_from(start);
            }
            let target: &mut [f32] = if j + 1 == n_post { out } else { z };
            conv.apply_with::<V>(ring.data(), start, frames, None, target, conv.out_channels);
            ring.advance(frames);
        }
    }
}

/// Applies the layer's activation (and gating) to the pre-activation `z` (`[frame][g]`), leaving
/// the `b` activated values at the start of each frame.
#[inline(always)]
fn activate<V: Variant>(layer: &Layer, z: &mut [f32], frames: usize, b: usize) {
    let g = layer.conv.out_channels;
    match &layer.gating {
        Gating::None => apply_activation::<V>(&layer.activation, z, frames, g, b),
        Gating::Gated(secondary) => {
            apply_activation::<V>(&layer.activation, z, frames, g, b);
            apply_activation::<V>(secondary, &mut z[b..], frames, g, b);
            for t in 0..frames {
                let (top, bottom) = z[t * g..(t + 1) * g].split_at_mut(b);
                for (p, &q) in top.iter_mut().zip(bottom.iter()) {
                    *p *= q;
                }
            }
        }
        Gating::Blended(secondary) => {
            apply_activation::<V>(secondary, &mut z[b..], frames, g, b);
            for t in 0..frames {
                let (top, bottom) = z[t * g..(t + 1) * g].split_at_mut(b);
                for (ch, (p, &alpha)) in top.iter_mut().zip(bottom.iter()).enumerate() {
                    let x = *p;
                    *p = alpha * layer.activation.apply_one(x, ch) + (1.0 - alpha) * x;
                }
            }
        }
    }
}
