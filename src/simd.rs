//! Which compiled variant of the kernels a model runs, chosen once when it is built (never on the
//! audio path). The wheel targets baseline x86-64; the same code is compiled a second time for
//! AVX2. Without FMA contraction every element sees the same operations in the same order, so the
//! variants give bit-identical output (tested in tests/block_split.rs).

use crate::options::LoadOptions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernels {
    Portable,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
}

impl Kernels {
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
}
