//! `nam_rs.HostRateModel` (in `nam_rs._core`): a loaded model run at a host's sample rate, for
//! `nam_rs.live.LiveProcessor` (see `crate::resample` for the rule and the latency).

use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use super::{data_ptr, describe, is_writeable, no_panic, to_py_err, PyModel, TryCell};
use crate::{HostRateModel, NamModel, RateConversion};

/// A model processing a stream at `host_sample_rate`: as is when the rates match, with its
/// dilations multiplied when the host rate is an integer multiple of the model's (exact, no
/// latency; not for LSTMs or a post-stack head with kernel > 1), else through a streaming
/// resampler with a fixed `latency`. Built from `model`'s file (its own copy of the weights).
#[pyclass(name = "HostRateModel", module = "nam_rs", frozen)]
pub struct PyHostRateModel {
    inner: TryCell<HostRateModel>,
    conversion: RateConversion,
    latency: usize,
    host_rate: f64,
    model_rate: f64,
}

#[pymethods]
impl PyHostRateModel {
    #[new]
    fn new(py: Python<'_>, model: &Bound<'_, PyModel>, host_sample_rate: f64) -> PyResult<Self> {
        let info = &model.get().info;
        let options = info.options.clone();
        let source = info.source.clone();
        let built = py.detach(|| {
            no_panic("building a host-rate model", || {
                let nam = NamModel::from_slice_with_limits(&source, &options.limits).map_err(to_py_err)?;
                HostRateModel::new(&nam, &options, host_sample_rate).map_err(to_py_err)
            })
        })?;
        Ok(PyHostRateModel {
            conversion: built.rate_conversion(),
            latency: built.latency(),
            host_rate: built.host_sample_rate(),
            model_rate: built.model_sample_rate(),
            inner: TryCell::new(built),
        })
    }

    /// Processes `buffer` (a 1-D, C-contiguous, writeable float32 array of host-rate samples) in
    /// place. Any length; the output does not depend on how the stream is split. Allocation-free.
    fn process(&self, buffer: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = buffer.py();
        let wrong = || -> PyResult<PyErr> {
            Ok(PyTypeError::new_err(format!(
                "buffer must be a writeable 1-D C-contiguous float32 numpy array, got {}",
                describe(buffer)?
            )))
        };
        let Ok(arr) = buffer.cast::<PyUntypedArray>() else { return Err(wrong()?) };
        if !arr.dtype().is_equiv_to(&numpy::dtype::<f32>(py)) || arr.ndim() != 1 {
            return Err(wrong()?);
        }
        if !arr.is_c_contiguous() || !is_writeable(arr) || data_ptr(arr) as usize % 4 != 0 {
            return Err(PyValueError::new_err("buffer must be C-contiguous, writeable and aligned"));
        }
        let n = arr.shape()[0];
        // SAFETY: a live, C-contiguous, aligned, writeable float32 array of n elements (checked above).
        let samples = unsafe { std::slice::from_raw_parts_mut(data_ptr(arr), n) };
        let mut inner = self.inner.borrow()?;
        no_panic("processing", || {
            inner.process_buffer(samples);
            Ok(())
        })
    }

    /// Back to the start state: the model prewarmed, the resampler empty (allocation-free).
    fn reset(&self) -> PyResult<()> {
        self.inner.borrow()?.reset();
        Ok(())
    }

    /// Host samples between an input sample and the output it causes (0 unless resampling).
    #[getter]
    fn latency(&self) -> usize {
        self.latency
    }

    /// `"none"`, `"dilation"` or `"resample"`.
    #[getter]
    fn rate_conversion(&self) -> &'static str {
        self.conversion.name()
    }

    /// N when the dilations were multiplied by N, else 1.
    #[getter]
    fn dilation_factor(&self) -> usize {
        match self.conversion {
            RateConversion::Dilation(n) => n,
            _ => 1,
        }
    }

    #[getter]
    fn host_sample_rate(&self) -> f64 {
        self.host_rate
    }

    /// The model's own rate (48 kHz when its file does not say).
    #[getter]
    fn model_sample_rate(&self) -> f64 {
        self.model_rate
    }

    fn __repr__(&self) -> String {
        format!(
            "<nam_rs.HostRateModel {} Hz model at {} Hz host: {}, latency {} samples>",
            self.model_rate,
            self.host_rate,
            self.conversion.name(),
            self.latency
        )
    }
}
