//! NumPy buffer checks done before the kernels see a buffer: dtype, shape, contiguity, alignment,
//! writeability (`Model.process` reads raw pointers, so these must hold).

use numpy::npyffi::NPY_ARRAY_WRITEABLE;
use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// A float32 C-contiguous view of `x` with 1 or 2 dimensions: `x` itself when it already is one,
/// else a converted copy (float64, non-contiguous, ...). Anything else is refused.
pub(super) fn as_f32_frames<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<Bound<'py, PyUntypedArray>> {
    let Ok(arr) = x.cast::<PyUntypedArray>() else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a numpy.ndarray of float32 with shape (frames,) or (frames, channels), got {}",
            x.get_type().name()?
        )));
    };
    if arr.ndim() != 1 && arr.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "{what} must have shape (frames,) or (frames, channels), got shape {:?}",
            arr.shape()
        )));
    }
    let dtype = arr.dtype();
    if dtype.is_equiv_to(&numpy::dtype::<f32>(py)) && arr.is_c_contiguous() && data_ptr(arr) as usize % 4 == 0 {
        return Ok(arr.clone());
    }
    if dtype.kind() != b'f' {
        return Err(PyTypeError::new_err(format!(
            "{what} must hold float32 samples (other float types are converted), got dtype {}",
            dtype.str()?
        )));
    }
    let np = py.import("numpy")?;
    let converted = np.call_method1("ascontiguousarray", (x, "float32"))?;
    Ok(converted.cast_into::<PyUntypedArray>()?)
}

pub(super) fn data_ptr(arr: &Bound<'_, PyUntypedArray>) -> *mut f32 {
    // SAFETY: `arr` is a live ndarray; reading its data field is what numpy's own macros do.
    unsafe { (*arr.as_array_ptr()).data as *mut f32 }
}

pub(super) fn is_writeable(arr: &Bound<'_, PyUntypedArray>) -> bool {
    // SAFETY: as above, for the flags field.
    unsafe { (*arr.as_array_ptr()).flags & NPY_ARRAY_WRITEABLE != 0 }
}

/// The frame count of `x` for a model with `(ci, co)` channels, and the shape of its output.
/// 1-D arrays are mono (only for 1-in/1-out models); 2-D arrays are `(frames, channels)`.
pub(super) fn frames_of(x: &Bound<'_, PyUntypedArray>, ci: usize, co: usize) -> PyResult<(usize, Vec<usize>)> {
    let shape = x.shape();
    match *shape {
        [n] if ci == 1 && co == 1 => Ok((n, vec![n])),
        [_] => Err(PyValueError::new_err(format!(
            "this model has {ci} input and {co} output channels: pass x with shape (frames, {ci})"
        ))),
        [n, c] if c == ci => Ok((n, vec![n, co])),
        _ => Err(PyValueError::new_err(format!(
            "x must have shape (frames, {ci}) for this model's {ci} input channel(s), got {shape:?}"
        ))),
    }
}
