//! Untrusted bytes → `NamModel` → `Model` → a few samples. Must never panic, abort, hang or
//! allocate without bound: every failure is a `NamError`. Small limits keep each run fast (they
//! are checked before allocating, so they bound memory and time too).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nam_rs::{Limits, LoadOptions, Model, NamError, NamModel};

fn limits() -> Limits {
    Limits {
        max_json_bytes: 1 << 20,
        max_weights: 200_000,
        max_channels: 64,
        max_kernel_size: 64,
        max_receptive_field: 1 << 16,
        max_layers: 64,
        // Half a second at 48 kHz: the LSTM fixtures load; absurd sample rates do not.
        max_prewarm_samples: 24_000,
        max_nesting: 4,
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = limits();
    let Ok(nam) = NamModel::from_slice_with_limits(data, &limits) else { return };
    let options = LoadOptions { limits, ..LoadOptions::default() };
    let mut model = match Model::from_nam_with(&nam, &options) {
        Ok(m) => m,
        // Every error must render (no panic in Display) and name something.
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let (ci, co) = (model.num_input_channels(), model.num_output_channels());
    let input: Vec<Vec<f32>> = (0..ci).map(|c| vec![0.5 - c as f32 * 0.25, -1.0, 0.0, 1e-3, 0.25]).collect();
    let mut output = vec![vec![0.0f32; 5]; co];
    let ins: Vec<&[f32]> = input.iter().map(Vec::as_slice).collect();
    let mut outs: Vec<&mut [f32]> = output.iter_mut().map(Vec::as_mut_slice).collect();
    if let Err(e) = model.process_channels(&ins, &mut outs) {
        panic!("a loaded model refused correctly shaped buffers: {e}");
    }
    if model.is_mono() {
        let mut block = [0.1f32, -0.2, 0.3];
        model.process_buffer(&mut block);
    }
    model.reset();
    // Buffers of the wrong length are an error, not a panic.
    let mut shorter = vec![vec![0.0f32; 4]; co];
    let mut outs: Vec<&mut [f32]> = shorter.iter_mut().map(Vec::as_mut_slice).collect();
    let result = model.process_channels(&ins, &mut outs);
    assert!(matches!(result, Err(NamError::Buffer { .. })), "{result:?}");
});
