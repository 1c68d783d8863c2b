//! Helpers shared by the Rust integration tests: fixture paths and a minimal `.npy` reader
//! (little-endian float32, C order; all the fixtures use).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures_dir() -> PathBuf {
    repo_dir().join("tests").join("fixtures")
}

/// `tests/fixtures/core/models` files rendered by NAM Core (condition_dsp of each architecture,
/// slimmable with head1x1 + FiLMs and with an LSTM condition) that the allocation and block-split
/// tests run besides the trainer fixtures.
pub const CORE_FIXTURE_MODELS: [&str; 6] = [
    "wavenet_lstm_condition",
    "wavenet_convnet_condition",
    "wavenet_linear_condition",
    "slimmable_wavenet_films",
    "slimmable_wavenet_lstm_condition",
    "wavenet_container_condition",
];

/// NAM Core's example models and renders (`../shared/reference`, or `$NAM_RS_REFERENCE_DIR`);
/// `None` when absent, so tests can skip with a reason (people who clone the repo don't have it).
pub fn reference_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("NAM_RS_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join("..").join("shared").join("reference"));
    dir.join("input.npy").exists().then_some(dir)
}

/// Reads a float32 `.npy` file: returns (shape, data).
pub fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{} is not an .npy file", path.display());
    let (header_len, offset) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
    };
    let header = std::str::from_utf8(&bytes[offset..offset + header_len]).expect("npy header is ASCII");
    assert!(header.contains("'descr': '<f4'"), "{}: expected little-endian float32, header {header}", path.display());
    assert!(header.contains("'fortran_order': False"), "{}: expected C order", path.display());
    let shape_text = header.split("'shape': (").nth(1).and_then(|s| s.split(')').next()).expect("npy shape");
    let shape: Vec<usize> = shape_text.split(',').filter_map(|s| s.trim().parse().ok()).collect();
    let data =
        bytes[offset + header_len..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    (shape, data)
}

/// The parity contract: max |Δ| ≤ 1e-5 · max(1, max |ref|), from sample 0.
pub fn assert_parity(name: &str, got: &[f32], expected: &[f32]) {
    assert_parity_tol(name, got, expected, 1e-5);
}

/// As [`assert_parity`] with another relative tolerance (documented where used).
pub fn assert_parity_tol(name: &str, got: &[f32], expected: &[f32], relative: f32) {
    assert_eq!(got.len(), expected.len(), "{name}: length");
    let peak = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let tol = relative * peak.max(1.0);
    let (mut worst, mut at) = (0.0f32, 0usize);
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        let d = (g - e).abs();
        if d > worst || d.is_nan() {
            worst = d;
            at = i;
        }
    }
    assert!(
        worst <= tol,
        "{name}: max |Δ| = {worst:e} at sample {at} (got {}, expected {}), tolerance {tol:e} (peak {peak})",
        got[at],
        expected[at]
    );
}
