//! PyO3 bindings (`nam_rs._core`). The one place where Rust errors become Python exceptions
//! (`to_py_err`); NumPy buffers are checked (`buffers.rs`) before the kernels see them.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use numpy::{PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::{Limits, LoadOptions, Model, NamError, NamModel, SlimmableControl};

mod buffers;
mod host_rate;
mod try_cell;

use buffers::{as_f32_frames, data_ptr, frames_of, is_writeable};
use try_cell::{Borrowed, TryCell};

pyo3::import_exception!(nam_rs._errors, NamFormatError);
pyo3::import_exception!(nam_rs._errors, NamVersionError);
pyo3::import_exception!(nam_rs._errors, UnsupportedModelError);
pyo3::import_exception!(nam_rs._errors, NamLimitError);
pyo3::import_exception!(nam_rs._errors, NamBusyError);
pyo3::import_exception!(nam_rs._errors, NamInternalError);

/// Maps every core error to its Python class.
fn to_py_err(err: NamError) -> PyErr {
    let message = err.to_string();
    match err.root() {
        NamError::Io { path, kind, .. } => {
            if *kind == std::io::ErrorKind::NotFound {
                PyFileNotFoundError::new_err((2, "No such file or directory".to_string(), path.clone()))
            } else {
                PyOSError::new_err(message)
            }
        }
        NamError::Version { .. } => NamVersionError::new_err(message),
        NamError::Unsupported { .. } => UnsupportedModelError::new_err(message),
        NamError::Limit { .. } => NamLimitError::new_err(message),
        NamError::Buffer { .. } => PyValueError::new_err(message),
        _ => NamFormatError::new_err(message),
    }
}

/// Runs `f`, turning a panic (a bug: nothing derived from a file should panic) into a `NamError`
/// so that no panic ever reaches Python as `PanicException` (a `BaseException`).
fn no_panic<T>(what: &str, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(NamInternalError::new_err(format!("internal error while {what} (please report this bug): {detail}")))
    })
}

/// What the file said, kept beside the runnable model.
struct FileInfo {
    version: String,
    architecture: String,
    sample_rate: Option<f64>,
    metadata: crate::Metadata,
    warnings: Vec<String>,
    num_weights: usize,
    /// The JSON the model was built from and how: pickling sends these and rebuilds.
    source: Vec<u8>,
    options: LoadOptions,
}

/// A loaded `.nam` model with its streaming state.
#[pyclass(name = "Model", module = "nam_rs", frozen)]
pub struct PyModel {
    model: TryCell<Model>,
    info: Arc<FileInfo>,
    /// Sets the slimmable size from any thread (applied at the next processing call).
    control: SlimmableControl,
    slimmable: bool,
    gil_threshold: AtomicUsize,
    /// Non-finite input samples, mirrored after every call so that reading it never waits.
    nonfinite: AtomicU64,
    /// Set when processing hit an internal error (a caught panic): the state cannot be trusted
    /// until `reset()`.
    poisoned: AtomicBool,
}

impl PyModel {
    fn new(model: Model, info: Arc<FileInfo>, gil_threshold: usize) -> PyModel {
        PyModel {
            control: model.slimmable_control(),
            slimmable: !model.slimmable_breakpoints().is_empty() || model.slimmable_size().is_some(),
            model: TryCell::new(model),
            info,
            gil_threshold: AtomicUsize::new(gil_threshold),
            nonfinite: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
        }
    }

    /// The model for this call, with any slimmable size set from another thread applied.
    fn model(&self) -> PyResult<Borrowed<'_, Model>> {
        let mut model = self.model.borrow()?;
        if let Some(size) = self.control.pending() {
            let _ = model.set_slimmable_size(size);
        }
        Ok(model)
    }

    fn check_poisoned(&self) -> PyResult<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(NamInternalError::new_err(
                "an earlier call failed with an internal error; call reset() before processing again",
            ));
        }
        Ok(())
    }

    /// Runs a processing closure: a panic poisons the model (until `reset()`).
    fn run<T>(&self, what: &str, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
        let result = no_panic(what, f);
        if let Err(e) = &result {
            Python::attach(|py| {
                if e.is_instance_of::<NamInternalError>(py) {
                    self.poisoned.store(true, Ordering::Release);
                }
            });
        }
        result
    }
}

/// Frames above which `process` releases the GIL. Re-taking the GIL can wait a whole switch
/// interval (5 ms), which would make a small real-time block miss its deadline, so small calls
/// keep it.
const DEFAULT_GIL_THRESHOLD: usize = 4096;

/// Every limit by its Python name (the field name), in one place for parsing and pickling.
fn limit_slots(l: &mut Limits) -> [(&'static str, &mut usize); 8] {
    [
        ("max_json_bytes", &mut l.max_json_bytes),
        ("max_weights", &mut l.max_weights),
        ("max_channels", &mut l.max_channels),
        ("max_kernel_size", &mut l.max_kernel_size),
        ("max_receptive_field", &mut l.max_receptive_field),
        ("max_layers", &mut l.max_layers),
        ("max_prewarm_samples", &mut l.max_prewarm_samples),
        ("max_nesting", &mut l.max_nesting),
    ]
}

/// The load keywords shared by `_load`, `_loads` and `_unpickle`.
struct LoadKeywords<'a, 'py> {
    fast_tanh: bool,
    portable_kernels: bool,
    limits: Option<&'a Bound<'py, PyDict>>,
    semantics: &'a str,
    linear_implementation: Option<&'a str>,
}

fn options_from(keywords: LoadKeywords<'_, '_>) -> PyResult<LoadOptions> {
    let LoadKeywords { fast_tanh, portable_kernels, limits, semantics, linear_implementation } = keywords;
    let semantics = crate::Semantics::parse(semantics).ok_or_else(|| {
        PyValueError::new_err(format!(
            "semantics must be \"core\" (what NAM Core plays) or \"trainer\" (what the trainer computes), not {semantics:?}"
        ))
    })?;
    let linear_implementation = match linear_implementation {
        None => None,
        Some(name @ ("auto" | "direct" | "fft")) => crate::LinearImplementation::parse(name),
        Some(other) => {
            return Err(PyValueError::new_err(format!(
                "linear_implementation must be \"auto\", \"direct\", \"fft\" or None (the file's own), not {other:?}"
            )))
        }
    };
    let mut options =
        LoadOptions { fast_tanh, portable_kernels, semantics, linear_implementation, ..LoadOptions::default() };
    if let Some(limits) = limits {
        for (key, value) in limits.iter() {
            let key: String = key.extract()?;
            let value: usize = value
                .extract()
                .map_err(|_| PyTypeError::new_err(format!("limits[{key:?}] must be a non-negative int")))?;
            let Some((_, slot)) = limit_slots(&mut options.limits).into_iter().find(|(name, _)| *name == key) else {
                let known: Vec<&str> = limit_slots(&mut Limits::default()).into_iter().map(|(name, _)| name).collect();
                return Err(PyValueError::new_err(format!("unknown limit {key:?}; known: {}", known.join(", "))));
            };
            *slot = value;
        }
    }
    Ok(options)
}

fn build(py: Python<'_>, nam: NamModel, source: Vec<u8>, options: &LoadOptions) -> PyResult<PyModel> {
    let model = py.detach(|| Model::from_nam_with(&nam, options)).map_err(to_py_err)?;
    let info = FileInfo {
        version: nam.version.clone(),
        architecture: nam.architecture.clone(),
        sample_rate: nam.sample_rate,
        warnings: nam.warnings().to_vec(),
        num_weights: nam.weights.len(),
        metadata: nam.metadata,
        source,
        options: options.clone(),
    };
    Ok(PyModel::new(model, Arc::new(info), DEFAULT_GIL_THRESHOLD))
}

/// Loads a `.nam` file (use `nam_rs.load`, which also emits the file's warnings).
#[pyfunction]
#[pyo3(signature = (
    path, *, fast_tanh = false, portable_kernels = false, limits = None, semantics = "core",
    linear_implementation = None
))]
fn _load(
    py: Python<'_>,
    path: PathBuf,
    fast_tanh: bool,
    portable_kernels: bool,
    limits: Option<&Bound<'_, PyDict>>,
    semantics: &str,
    linear_implementation: Option<&str>,
) -> PyResult<PyModel> {
    no_panic("loading a model", || {
        let options =
            options_from(LoadKeywords { fast_tanh, portable_kernels, limits, semantics, linear_implementation })?;
        load_path(py, path, options)
    })
}

fn load_path(py: Python<'_>, path: PathBuf, options: LoadOptions) -> PyResult<PyModel> {
    let shown = path.display().to_string();
    let (nam, source) = py
        .detach(|| {
            let bytes = crate::file::read_limited(&path, &options.limits)?;
            let nam = NamModel::from_slice_with_limits(&bytes, &options.limits).map_err(|e| e.in_file(&shown))?;
            Ok((nam, bytes))
        })
        .map_err(to_py_err)?;
    build(py, nam, source, &options).map_err(|e| {
        // Name the file in build errors too.
        let text = format!("{}: {}", path.display(), e.value(py));
        PyErr::from_type(e.get_type(py), text)
    })
}

/// Loads a model from the JSON text (str or bytes) of a `.nam` file.
#[pyfunction]
#[pyo3(signature = (
    data, *, fast_tanh = false, portable_kernels = false, limits = None, semantics = "core",
    linear_implementation = None
))]
fn _loads(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    fast_tanh: bool,
    portable_kernels: bool,
    limits: Option<&Bound<'_, PyDict>>,
    semantics: &str,
    linear_implementation: Option<&str>,
) -> PyResult<PyModel> {
    no_panic("loading a model", || {
        let options =
            options_from(LoadKeywords { fast_tanh, portable_kernels, limits, semantics, linear_implementation })?;
        let source: Vec<u8> = if let Ok(s) = data.cast::<PyString>() {
            s.to_cow()?.as_bytes().to_vec()
        } else if let Ok(b) = data.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else {
            return Err(PyTypeError::new_err(format!(
                "expected the .nam JSON as str or bytes, got {}",
                data.get_type().name()?
            )));
        };
        let nam = NamModel::from_slice_with_limits(&source, &options.limits).map_err(to_py_err)?;
        build(py, nam, source, &options)
    })
}

#[pymethods]
impl PyModel {
    /// Processes `x` and returns the output: shape `(n,)` for mono models, or `(frames, channels)`
    /// (frames first, like soundfile) with the model's input channels, giving its output channels.
    /// Streaming: the state carries over between calls. `out` may be `x` itself (in place, no copy,
    /// no allocation; only when input and output channel counts agree) or another float32 array of
    /// the output's shape. Other float dtypes and non-contiguous input are accepted with a copy.
    /// The GIL is released for calls of at least `gil_threshold` frames.
    #[pyo3(signature = (x, out = None))]
    fn process<'py>(
        slf: &Bound<'py, Self>,
        x: &Bound<'py, PyAny>,
        out: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        this.check_poisoned()?;
        let mut model = this.model()?;
        let (ci, co) = (model.num_input_channels(), model.num_output_channels());
        let input = as_f32_frames(py, x, "x")?;
        let (frames, out_shape) = frames_of(&input, ci, co)?;
        let output = match out {
            None => {
                if out_shape.len() == 1 {
                    PyArray1::<f32>::zeros(py, frames, false).into_any().cast_into::<PyUntypedArray>()?
                } else {
                    PyArray2::<f32>::zeros(py, [frames, co], false).into_any().cast_into::<PyUntypedArray>()?
                }
            }
            Some(o) => {
                let wrong = || -> PyResult<PyErr> {
                    Ok(PyTypeError::new_err(format!(
                        "out must be a writeable float32 numpy array of shape {out_shape:?}, got {}",
                        describe(o)?
                    )))
                };
                let Ok(o) = o.cast::<PyUntypedArray>() else { return Err(wrong()?) };
                if !o.dtype().is_equiv_to(&numpy::dtype::<f32>(py)) {
                    return Err(wrong()?);
                }
                if o.shape() != out_shape.as_slice() {
                    return Err(PyValueError::new_err(format!(
                        "out has shape {:?} but the output of x has shape {out_shape:?}",
                        o.shape()
                    )));
                }
                if !o.is_c_contiguous() {
                    return Err(PyValueError::new_err("out must be C-contiguous"));
                }
                if !is_writeable(o) {
                    return Err(PyValueError::new_err("out is read-only"));
                }
                if data_ptr(o) as usize % 4 != 0 {
                    return Err(PyValueError::new_err("out is not aligned for float32"));
                }
                o.clone()
            }
        };
        let (n_in, n_out) = (frames * ci, frames * co);
        let (src, dst) = (data_ptr(&input) as *const f32, data_ptr(&output));
        let release_gil = frames >= this.gil_threshold.load(Ordering::Relaxed);
        let model = &mut *model;
        if ci == co {
            // SAFETY: both arrays are live, C-contiguous, aligned float32 with n_in elements (checked
            // above) and referenced by this frame; `copy` is a memmove, so overlapping x/out is
            // handled, and after it only `dst` is used.
            let buffer: &mut [f32] = unsafe {
                if !std::ptr::eq(src, dst) {
                    std::ptr::copy(src, dst, n_in);
                }
                std::slice::from_raw_parts_mut(dst, n_in)
            };
            this.run("processing", || {
                let mut run = || model.process_interleaved_in_place(buffer);
                if release_gil { py.detach(run) } else { run() }.map_err(to_py_err)
            })?;
        } else {
            let (a, b) = (src as usize, dst as usize);
            if a < b + 4 * n_out && b < a + 4 * n_in {
                return Err(PyValueError::new_err(
                    "out overlaps x; with different input and output channel counts they must be separate arrays",
                ));
            }
            // SAFETY: as above; the two ranges do not overlap (checked).
            let (input, output) =
                unsafe { (std::slice::from_raw_parts(src, n_in), std::slice::from_raw_parts_mut(dst, n_out)) };
            this.run("processing", || {
                let mut run = || model.process_interleaved(input, output);
                if release_gil { py.detach(run) } else { run() }.map_err(to_py_err)
            })?;
        }
        this.nonfinite.store(model.nonfinite_count(), Ordering::Relaxed);
        Ok(output.into_any())
    }

    /// Same as `process`.
    #[pyo3(signature = (x, out = None))]
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        x: &Bound<'py, PyAny>,
        out: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        Self::process(slf, x, out)
    }

    /// Processes one sample.
    fn process_sample(&self, x: f32) -> PyResult<f32> {
        self.check_poisoned()?;
        let mut model = self.model()?;
        if !model.is_mono() {
            return Err(PyValueError::new_err("process_sample needs a mono model; use process with a 2-D array"));
        }
        let y = self.run("processing", || Ok(model.process_sample(x)))?;
        self.nonfinite.store(model.nonfinite_count(), Ordering::Relaxed);
        Ok(y)
    }

    /// Renders a whole signal (shape as for `process`) from the prewarmed start state without
    /// touching the streaming state. `threads > 1` cuts the signal into overlapping chunks rendered
    /// in parallel, bit-identical to one thread (models with recurrent state render serially).
    #[pyo3(signature = (x, *, threads = 1))]
    fn render<'py>(slf: &Bound<'py, Self>, x: &Bound<'py, PyAny>, threads: usize) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        // A copy of the model: rendering never waits for, or blocks, a thread that is processing.
        let model = slf.get().model()?.clone();
        let (ci, co) = (model.num_input_channels(), model.num_output_channels());
        let input = as_f32_frames(py, x, "x")?;
        let (frames, out_shape) = frames_of(&input, ci, co)?;
        // SAFETY: `input` is a live C-contiguous aligned float32 array of frames × ci elements.
        let src = unsafe { std::slice::from_raw_parts(data_ptr(&input) as *const f32, frames * ci) };
        let rendered =
            py.detach(|| no_panic("rendering", || model.render_parallel(src, threads).map_err(to_py_err)))?;
        let flat = PyArray1::from_vec(py, rendered);
        Ok(if out_shape.len() == 1 { flat.into_any() } else { flat.reshape([frames, co])?.into_any() })
    }

    /// Back to the prewarmed start state (allocation-free).
    fn reset(&self) -> PyResult<()> {
        self.model()?.reset();
        self.poisoned.store(false, Ordering::Release);
        Ok(())
    }

    /// NAM Core's `prewarm()`: feed silence from the current state (see the docs for LSTM).
    fn prewarm(&self) -> PyResult<()> {
        self.check_poisoned()?;
        self.model()?.prewarm();
        Ok(())
    }

    /// A new model sharing the weights, in the prewarmed start state.
    fn copy(&self) -> PyResult<PyModel> {
        let model = self.model()?.clone();
        Ok(PyModel::new(model, Arc::clone(&self.info), self.gil_threshold.load(Ordering::Relaxed)))
    }

    fn __copy__(&self) -> PyResult<PyModel> {
        self.copy()
    }

    fn __deepcopy__(&self, _memo: &Bound<'_, PyAny>) -> PyResult<PyModel> {
        self.copy()
    }

    /// Pickles the source JSON and load options; unpickling rebuilds the model in its prewarmed
    /// start state (the streaming state is not sent), so models work with multiprocessing.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let py = slf.py();
        let this = slf.get();
        let info = &this.info;
        let mut l = info.options.limits.clone();
        let limits = PyDict::new(py);
        for (key, value) in limit_slots(&mut l) {
            limits.set_item(key, *value)?;
        }
        let rebuild = py.import("nam_rs._core")?.getattr("_unpickle")?;
        let o = &info.options;
        let args = (
            PyBytes::new(py, &info.source),
            o.fast_tanh,
            o.portable_kernels,
            limits,
            this.gil_threshold.load(Ordering::Relaxed),
            o.semantics.name(),
            o.linear_implementation.map(linear_implementation_name),
        )
            .into_pyobject(py)?
            .into_any();
        Ok((rebuild, args))
    }

    /// Slimmable size in [0, 1] (None for models that are not slimmable). Setting it selects a
    /// sub-model (or width) as NAM Core does, at the start of the next processing call; the setter
    /// is a lock-free atomic store, so any thread may set it while another one processes.
    #[getter]
    fn get_slimmable_size(&self) -> PyResult<Option<f64>> {
        if !self.slimmable {
            return Ok(None);
        }
        match self.control.pending() {
            Some(size) => Ok(Some(size)),
            None => Ok(self.model()?.slimmable_size()),
        }
    }

    #[setter]
    fn set_slimmable_size(&self, size: f64) -> PyResult<()> {
        if !self.slimmable {
            return Err(to_py_err(NamError::unsupported(format!(
                "slimmable size on a {} (not slimmable)",
                self.info.architecture
            ))));
        }
        self.control.set(size);
        Ok(())
    }

    /// Sizes at which the selected sub-model changes (empty when not slimmable).
    #[getter]
    fn slimmable_breakpoints(&self) -> PyResult<Vec<f64>> {
        Ok(self.model()?.slimmable_breakpoints().to_vec())
    }

    /// Crossfade, in samples, when the slimmable size changes (0: switch at once): the previous
    /// sub-model keeps running and fades out while the new one fades in.
    #[getter]
    fn get_slimmable_crossfade(&self) -> PyResult<usize> {
        Ok(self.model()?.slimmable_crossfade())
    }

    #[setter]
    fn set_slimmable_crossfade(&self, samples: usize) -> PyResult<()> {
        self.model()?.set_slimmable_crossfade(samples).map_err(to_py_err)
    }

    /// Input samples that were NaN or infinite (processed as 0) since the model was loaded.
    #[getter]
    fn nonfinite_count(&self) -> u64 {
        self.nonfinite.load(Ordering::Relaxed)
    }

    /// Whether an internal error left the state untrustworthy (cleared by `reset()`).
    #[getter]
    fn poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    #[getter]
    fn architecture(&self) -> &str {
        &self.info.architecture
    }

    /// `"core"` or `"trainer"`: whose reading of the file this model computes (the load keyword).
    #[getter]
    fn semantics(&self) -> &'static str {
        self.info.options.semantics.name()
    }

    #[getter]
    fn version(&self) -> &str {
        &self.info.version
    }

    /// The rate the model was trained at, or None when the file does not say.
    #[getter]
    fn sample_rate(&self) -> Option<f64> {
        self.info.sample_rate
    }

    /// Multiply-adds per sample of the model as built (a container: its active sub-model).
    #[getter]
    fn macs_per_sample(&self) -> PyResult<usize> {
        Ok(self.model()?.macs_per_sample())
    }

    /// `nam_rs.plot.summary(self, path, **kwargs)` (needs the `plot` extra).
    #[pyo3(signature = (path = None, **kwargs))]
    fn plot<'py>(
        slf: &Bound<'py, Self>,
        path: Option<&Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let summary = slf.py().import("nam_rs.plot")?.getattr("summary")?;
        summary.call((slf, path), kwargs)
    }

    #[getter]
    fn receptive_field(&self) -> PyResult<usize> {
        Ok(self.model()?.receptive_field())
    }

    #[getter]
    fn prewarm_samples(&self) -> PyResult<usize> {
        Ok(self.model()?.prewarm_samples())
    }

    #[getter]
    fn num_input_channels(&self) -> PyResult<usize> {
        Ok(self.model()?.num_input_channels())
    }

    #[getter]
    fn num_output_channels(&self) -> PyResult<usize> {
        Ok(self.model()?.num_output_channels())
    }

    #[getter]
    fn num_weights(&self) -> usize {
        self.info.num_weights
    }

    /// The file's `metadata` object as a dict (empty when absent).
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::Value::Object(self.info.metadata.raw.clone()).to_string();
        py.import("json")?.call_method1("loads", (text,))
    }

    #[getter]
    fn loudness(&self) -> Option<f64> {
        self.info.metadata.loudness
    }

    #[getter]
    fn input_level_dbu(&self) -> Option<f64> {
        self.info.metadata.input_level_dbu
    }

    #[getter]
    fn output_level_dbu(&self) -> Option<f64> {
        self.info.metadata.output_level_dbu
    }

    #[getter]
    fn gain(&self) -> Option<f64> {
        self.info.metadata.gain
    }

    /// Warnings from reading the file (e.g. a version newer than 0.7.0).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.info.warnings.clone()
    }

    /// Frames from which `process` releases the GIL.
    #[getter]
    fn get_gil_threshold(&self) -> usize {
        self.gil_threshold.load(Ordering::Relaxed)
    }

    #[setter]
    fn set_gil_threshold(&self, frames: usize) {
        self.gil_threshold.store(frames, Ordering::Relaxed);
    }

    fn __repr__(&self) -> String {
        let rf = self.model().map_or("?".to_string(), |m| m.receptive_field().to_string());
        let rate = self.info.sample_rate.map_or("unknown rate".to_string(), |r| format!("{r} Hz"));
        let name = self.info.metadata.name.as_deref().map(|n| format!(" {n:?}")).unwrap_or_default();
        format!(
            "<nam_rs.Model{name} {} (file version {}), {rate}, receptive field {}, {} weights>",
            self.info.architecture, self.info.version, rf, self.info.num_weights
        )
    }
}

fn describe(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(arr) = obj.cast::<PyUntypedArray>() {
        Ok(format!("an array of dtype {} and shape {:?}", arr.dtype().str()?, arr.shape()))
    } else {
        Ok(obj.get_type().name()?.to_string())
    }
}

/// The Python keyword's name of a Linear implementation override.
fn linear_implementation_name(implementation: crate::LinearImplementation) -> &'static str {
    match implementation {
        crate::LinearImplementation::Auto => "auto",
        crate::LinearImplementation::Direct => "direct",
        crate::LinearImplementation::Fft => "fft",
    }
}

/// Rebuilds a pickled model (see `Model.__reduce__`).
#[pyfunction]
#[allow(clippy::too_many_arguments)] // the fields of `__reduce__`'s tuple, positionally
fn _unpickle(
    py: Python<'_>,
    data: &Bound<'_, PyBytes>,
    fast_tanh: bool,
    portable_kernels: bool,
    limits: &Bound<'_, PyDict>,
    gil_threshold: usize,
    semantics: &str,
    linear_implementation: Option<&str>,
) -> PyResult<PyModel> {
    let model = _loads(py, data.as_any(), fast_tanh, portable_kernels, Some(limits), semantics, linear_implementation)?;
    model.gil_threshold.store(gil_threshold, Ordering::Relaxed);
    Ok(model)
}

/// The single-core FP32 multiply-add peak in GFLOP/s, measured for about `seconds` with the GIL
/// released (for `nam_rs.bench`: a model's share of the machine, measured in the same run).
#[pyfunction]
fn _fma_peak_gflops(py: Python<'_>, seconds: f64) -> PyResult<f64> {
    if !(seconds.is_finite() && (0.0..=3600.0).contains(&seconds)) {
        return Err(PyValueError::new_err(format!("seconds must be between 0 and 3600, not {seconds}")));
    }
    Ok(py.detach(|| crate::fma_peak_gflops(seconds)))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    m.add_class::<host_rate::PyHostRateModel>()?;
    m.add_function(wrap_pyfunction!(_load, m)?)?;
    m.add_function(wrap_pyfunction!(_loads, m)?)?;
    m.add_function(wrap_pyfunction!(_unpickle, m)?)?;
    m.add_function(wrap_pyfunction!(_fma_peak_gflops, m)?)?;
    m.add("DEFAULT_GIL_THRESHOLD", DEFAULT_GIL_THRESHOLD)?;
    // Whether this is a test build whose processing panics on `FAILPOINT_BITS` (never in wheels).
    m.add("_FAILPOINTS", cfg!(feature = "failpoints"))?;
    Ok(())
}
