//! Parity against NAM Core's own renders of its example models (`../shared/reference`): the
//! output of every model this build supports must match from the first sample; the others must
//! be refused with `Unsupported` (never silently run wrong).

mod common;

use nam_rs::{Model, NamModel};

fn render(dir: &std::path::Path, name: &str, input: &[f32]) -> Vec<f32> {
    let nam = NamModel::from_file(dir.join("models").join(format!("{name}.nam"))).expect("load");
    let mut model = Model::from_nam(&nam).expect("build");
    let mut out = input.to_vec();
    // NAM Core renders in 64-frame blocks; block size must not matter.
    for block in out.chunks_mut(64) {
        model.process_buffer(block);
    }
    out
}

/// Models in scope and the relative tolerance their comparison uses. The contract is 1e-5. The
/// trained A1 "standard" model (`wavenet_a1_standard` = `my_model`) is so sensitive to float32
/// rounding that NAM Core's own render (built `-Ofast`) is 2.3e-5 away from a float64 evaluation
/// of the same network, so no float32 implementation can be held to 1e-5 of that render: measured
/// here, ours is 2.4e-5 from float64 and 3.1e-5 from Core. The bound for it is 5e-5 (the
/// float32 noise floor of this model, not slack for a wrong computation: a wrong weight or a
/// missing prewarm moves the output by >1e-3). See docs/compatibility.md.
const REFERENCE_MODELS: [(&str, f32); 6] = [
    ("lstm", 1e-5),
    ("wavenet", 1e-5),
    ("wavenet_a1_standard", 5e-5),
    ("my_model", 5e-5),
    // Every FiLM site, groups, head1x1, gated + blended layers, PReLU lists, an 8-row WaveNet
    // condition_dsp; layer1x1_post_film applied only in blended layers, as NAM Core does.
    ("wavenet_a2_max", 1e-5),
    ("wavenet_condition_dsp", 1e-5),
];

#[test]
fn core_example_models_match_core_renders() {
    let Some(dir) = common::reference_dir() else {
        eprintln!("SKIPPED: ../shared/reference not found (set NAM_RS_REFERENCE_DIR to run NAM Core parity)");
        return;
    };
    let (_, input) = common::read_npy(&dir.join("input.npy"));
    for (name, tolerance) in REFERENCE_MODELS {
        let (_, expected) = common::read_npy(&dir.join("outputs").join(format!("{name}.core.npy")));
        let got = render(&dir, name, &input);
        common::assert_parity_tol(name, &got, &expected, tolerance);
    }
}

/// SlimmableContainers, as NAM Core's renders were made: for row i a fresh model, the size set to
/// the midpoint of row i's interval, then the input in 64-frame blocks.
#[test]
fn core_containers_match_core_renders_per_size() {
    let Some(dir) = common::reference_dir() else {
        eprintln!("SKIPPED: ../shared/reference not found");
        return;
    };
    let (_, input) = common::read_npy(&dir.join("input.npy"));
    for (name, sizes) in [("A2", vec![0.25, 0.75]), ("slimmable_container", vec![0.165, 0.495, 0.83])] {
        let (shape, expected) = common::read_npy(&dir.join("outputs").join(format!("{name}.core.npy")));
        assert_eq!(shape, vec![sizes.len(), input.len()], "{name}: reference shape");
        let nam = NamModel::from_file(dir.join("models").join(format!("{name}.nam"))).expect("load");
        for (row, size) in sizes.into_iter().enumerate() {
            let mut model = Model::from_nam(&nam).expect("build");
            model.set_slimmable_size(size).expect("a container is slimmable");
            let mut out = input.clone();
            for block in out.chunks_mut(64) {
                model.process_buffer(block);
            }
            let reference = &expected[row * input.len()..(row + 1) * input.len()];
            common::assert_parity(&format!("{name} row {row} (size {size})"), &out, reference);
        }
    }
}

/// The channel-slicing slimmable WaveNet at each width, as NAM Core's renders were made: a fresh
/// model, the size set, then the input in 64-frame blocks.
#[test]
fn core_slimmable_wavenet_matches_core_renders_per_width() {
    let Some(dir) = common::reference_dir() else {
        eprintln!("SKIPPED: ../shared/reference not found");
        return;
    };
    let (_, input) = common::read_npy(&dir.join("input.npy"));
    let nam = NamModel::from_file(dir.join("models/slimmable_wavenet.nam")).expect("load");
    for (render, size) in
        [("slimmable_wavenet.c1", 1.0 / 6.0), ("slimmable_wavenet.c2", 0.5), ("slimmable_wavenet", 5.0 / 6.0)]
    {
        let (_, expected) = common::read_npy(&dir.join("outputs").join(format!("{render}.core.npy")));
        let mut model = Model::from_nam(&nam).expect("build");
        assert_eq!(model.slimmable_breakpoints(), &[1.0 / 3.0, 2.0 / 3.0]);
        model.set_slimmable_size(size).expect("slimmable");
        let mut out = input.clone();
        for block in out.chunks_mut(64) {
            model.process_buffer(block);
        }
        common::assert_parity(render, &out, &expected);
    }
}
