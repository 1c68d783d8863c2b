//! [`HostRateModel`]: a mono model run at a host's sample rate. The host rate equal to the
//! model's runs it as is; an integer multiple N ≥ 2 multiplies its dilations (`crate::rate`:
//! exact, no latency) when the architecture allows; any other ratio streams through a
//! low-latency resampler: host → model rate → model → host rate.
//!
//! The resampler is a pair of rational polyphase FIR filters (Kaiser-windowed sinc, tabulated
//! for every phase of the reduced ratio p:q at construction, so no interpolation error): flat to
//! 0.87 × the lower rate's Nyquist frequency (19.2 kHz at 44.1 kHz), ≥ 100 dB down from that
//! Nyquist frequency on. Each filter evaluates its input at a fixed delay ≥ its half-width
//! (causal); the up filter takes the fractional part so that the two delays add up to a whole
//! number of host samples. Host samples gather in chunks of `CHUNK`; each complete chunk yields
//! the model samples it makes computable (a count fixed by the stream position), which run
//! through the model and back down into an output FIFO that starts with just enough zeros that
//! a call of any length always finds its output ready (`schedule`). So the output does not depend
//! on how the host splits the stream, and the latency is fixed and exact: the FIFO's zeros plus
//! the filters' delay (130 host samples = 2.9 ms at 44.1 kHz with a 48 kHz model). Every buffer
//! and table is made at construction; processing allocates nothing.

use crate::error::{NamError, Result};
use crate::file::NamModel;
use crate::model::{Model, MAX_INPUT};
use crate::options::LoadOptions;

/// The rate assumed for a file that does not say (NAM's standard rate, as NeuralAudio assumes).
pub const DEFAULT_MODEL_RATE: f64 = 48_000.0;

/// How a [`HostRateModel`] bridges the host and model rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateConversion {
    /// The rates are equal.
    None,
    /// The host rate is this integer multiple of the model's: dilations multiplied at load.
    Dilation(usize),
    /// Streaming resampler (fixed latency, see [`HostRateModel::latency`]).
    Resample,
}

impl RateConversion {
    /// `"none"`, `"dilation"` or `"resample"` (the Python property's values).
    pub fn name(self) -> &'static str {
        match self {
            RateConversion::None => "none",
            RateConversion::Dilation(_) => "dilation",
            RateConversion::Resample => "resample",
        }
    }
}

/// A mono model processing a host-rate stream (see the module docs for the rule and latency).
#[derive(Debug)]
pub struct HostRateModel {
    model: Model,
    resampler: Option<Box<Bridge>>,
    conversion: RateConversion,
    host_rate: f64,
    model_rate: f64,
}

impl HostRateModel {
    /// Builds `nam` to run at `host_rate` Hz. A file without a sample rate is taken as 48 kHz.
    /// Errors: a rate that is not a positive whole number of Hz (when resampling is needed), a
    /// model that is not mono, rates whose ratio needs impractically long blocks (e.g. 44 100 vs
    /// 47 999 Hz), and any load error.
    pub fn new(nam: &NamModel, options: &LoadOptions, host_rate: f64) -> Result<HostRateModel> {
        let model_rate = nam.sample_rate.unwrap_or(DEFAULT_MODEL_RATE);
        if !(host_rate.is_finite() && host_rate > 0.0) {
            return Err(NamError::Buffer { message: format!("host sample rate must be positive, got {host_rate}") });
        }
        let ratio = host_rate / model_rate;
        let multiple = ratio.round();
        let conversion = if host_rate == model_rate {
            RateConversion::None
        } else if ratio >= 2.0 && multiple * model_rate == host_rate && crate::rate::dilation_blocker(nam).is_none() {
            RateConversion::Dilation(multiple as usize)
        } else {
            RateConversion::Resample
        };
        let mut options = options.clone();
        options.rate_multiplier = match conversion {
            RateConversion::Dilation(n) => Some(n),
            _ => None,
        };
        let model = Model::from_nam_with(nam, &options)?;
        if !model.is_mono() {
            return Err(NamError::unsupported(format!(
                "host-rate processing of a model with {} input and {} output channels (mono only)",
                model.num_input_channels(),
                model.num_output_channels()
            )));
        }
        let resampler = match conversion {
            RateConversion::Resample => Some(Box::new(Bridge::new(host_rate, model_rate)?)),
            _ => None,
        };
        Ok(HostRateModel { model, resampler, conversion, host_rate, model_rate })
    }

    /// Processes a host-rate block in place. Any length works, and the output does not depend on
    /// how the stream is split into calls. Allocation-free.
    pub fn process_buffer(&mut self, buffer: &mut [f32]) {
        match &mut self.resampler {
            None => self.model.process_buffer(buffer),
            Some(bridge) => bridge.process(&mut self.model, buffer),
        }
    }

    /// Processes `input` into `output` (same length).
    pub fn process(&mut self, input: &[f32], output: &mut [f32]) -> Result<()> {
        if input.len() != output.len() {
            return Err(NamError::lengths_differ(input.len(), output.len()));
        }
        output.copy_from_slice(input);
        self.process_buffer(output);
        Ok(())
    }

    /// Host samples between an input sample and the output it causes (0 unless resampling).
    pub fn latency(&self) -> usize {
        self.resampler.as_ref().map_or(0, |b| b.latency())
    }

    /// How the rates are bridged.
    pub fn rate_conversion(&self) -> RateConversion {
        self.conversion
    }

    pub fn host_sample_rate(&self) -> f64 {
        self.host_rate
    }

    /// The model's own rate (48 kHz when the file does not say).
    pub fn model_sample_rate(&self) -> f64 {
        self.model_rate
    }

    /// The model (dilated when [`RateConversion::Dilation`]).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Back to the start state: the model prewarmed, the resampler empty. Allocation-free.
    pub fn reset(&mut self) {
        self.model.reset();
        if let Some(bridge) = &mut self.resampler {
            bridge.reset();
        }
    }
}

/// Host samples gathered before the chain runs on them: adds `CHUNK − 1` to the latency, and the
/// model then runs on blocks of about `CHUNK`·q/p samples (small blocks cost per-call overhead).
const CHUNK: usize = 32;
/// Filter design (Kaiser-windowed sinc, both directions): attenuation in dB of what the lower
/// rate cannot carry, and the passband edge as a fraction of the lower rate's Nyquist frequency
/// (0.87 → 19.2 kHz at 44.1 kHz). Their product with the chunk sets the latency (module docs).
const STOPBAND_DB: f64 = 100.0;
const PASSBAND_EDGE: f64 = 0.87;
/// Reduced ratios p:q with p or q above this are refused (a filter table has one row per phase).
const MAX_PHASES: usize = 4096;

/// The resampling path's state: host → model polyphase filter, the model, model → host filter,
/// with each history kept as long as the filters need, and the output FIFO.
struct Bridge {
    up: Polyphase,
    down: Polyphase,
    /// Host samples of the chunk being gathered (`filled` of them so far).
    gather: Vec<f32>,
    filled: usize,
    host_history: History,
    model_history: History,
    /// The model-rate samples one chunk makes (at most `at_model.len()`).
    at_model: Vec<f32>,
    /// Output FIFO (ring): `ready` samples from `read`; starts with `shift` zeros.
    fifo: Vec<f32>,
    read: usize,
    ready: usize,
    shift: usize,
    /// The filters' combined delay in host samples (an integer by construction).
    delay: usize,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("chunk", &self.gather.len())
            .field("up_taps", &self.up.taps)
            .field("down_taps", &self.down.taps)
            .field("latency", &self.latency())
            .finish()
    }
}

fn whole_hz(rate: f64, what: &str) -> Result<usize> {
    if rate.fract() != 0.0 || !(1.0..=1.0e7).contains(&rate) {
        return Err(NamError::unsupported(format!(
            "resampling at a {what} sample rate of {rate} Hz (a whole number of Hz up to 10 MHz is needed)"
        )));
    }
    Ok(rate as usize)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Bridge {
    /// Delays: the up filter evaluates the host signal at host time m·p/q − d_up for model sample
    /// m, the down filter the model signal at model time n·q/p − d_down for host sample n, each
    /// delay ≥ its filter's half-width (causal). Their sum d_up + d_down·p/q is made a whole
    /// number of host samples by giving d_up the fraction, so the reported latency is exact.
    fn new(host_rate: f64, model_rate: f64) -> Result<Bridge> {
        let (host, model) = (whole_hz(host_rate, "host")?, whole_hz(model_rate, "model")?);
        let g = gcd(host, model);
        let (p, q) = (host / g, model / g);
        if p.max(q) > MAX_PHASES {
            return Err(NamError::unsupported(format!(
                "resampling between {host} Hz and {model} Hz: their ratio {p}:{q} needs filter tables of {} \
                 phases (at most {MAX_PHASES}); use standard rates",
                p.max(q)
            )));
        }
        let nyquist = host.min(model) as f64 / 2.0;
        let design = Design::kaiser(PASSBAND_EDGE * nyquist, nyquist, STOPBAND_DB);
        let up_half = design.half_width(host as f64);
        let down_half = design.half_width(model as f64);
        // d_down in 1/p model samples, d_up in 1/q host samples; d_up + d_down·p/q = delay.
        let down_delay = (down_half * p as f64).ceil() as i64;
        let delay = (up_half + down_delay as f64 / q as f64).ceil() as i64;
        let up_delay = delay * q as i64 - down_delay;
        let up = Polyphase::new(&design, host as f64, p, q, up_delay, up_half);
        let down = Polyphase::new(&design, model as f64, q, p, down_delay, down_half);
        let (shift, max_model, fifo_len) = schedule(up.clone(), down.clone(), CHUNK);
        let mut bridge = Bridge {
            host_history: History::new(&up, CHUNK),
            model_history: History::new(&down, max_model),
            up,
            down,
            gather: vec![0.0; CHUNK],
            filled: 0,
            at_model: vec![0.0; max_model],
            fifo: vec![0.0; fifo_len],
            read: 0,
            ready: 0,
            shift,
            delay: delay as usize,
        };
        bridge.reset();
        Ok(bridge)
    }

    fn latency(&self) -> usize {
        self.shift + self.delay
    }

    fn reset(&mut self) {
        self.up.rewind();
        self.down.rewind();
        self.host_history.reset(&self.up);
        self.model_history.reset(&self.down);
        self.filled = 0;
        self.fifo.fill(0.0);
        self.read = 0;
        self.ready = self.shift;
    }

    fn process(&mut self, model: &mut Model, buffer: &mut [f32]) {
        let chunk = self.gather.len();
        let mut pos = 0;
        while pos < buffer.len() {
            let m = (chunk - self.filled).min(buffer.len() - pos);
            let part = &mut buffer[pos..pos + m];
            for (g, &x) in self.gather[self.filled..self.filled + m].iter_mut().zip(part.iter()) {
                // The model guards its own input, but a NaN must not reach the filters' history.
                *g = if x.is_finite() { x.clamp(-MAX_INPUT, MAX_INPUT) } else { 0.0 };
            }
            self.filled += m;
            if self.filled == chunk {
                self.run_chunk(model);
                self.filled = 0;
            }
            // `ready` ≥ m: `schedule` chose the FIFO's initial zeros so.
            let cap = self.fifo.len();
            for y in part.iter_mut() {
                *y = self.fifo[self.read];
                self.read = (self.read + 1) % cap;
            }
            self.ready -= m;
            pos += m;
        }
    }

    /// One complete chunk: every model sample it makes computable, through the model, then every
    /// host sample those make computable, into the FIFO. The counts depend only on the stream
    /// position, so the model sees the same blocks however the host splits its calls.
    fn run_chunk(&mut self, model: &mut Model) {
        self.host_history.push(&self.gather, self.up.oldest_next());
        let mut count = 0;
        while self.up.newest_next() < self.host_history.end() {
            self.at_model[count] = self.up.next(&self.host_history);
            count += 1;
        }
        model.process_buffer(&mut self.at_model[..count]);
        self.model_history.push(&self.at_model[..count], self.down.oldest_next());
        let cap = self.fifo.len();
        while self.down.newest_next() < self.model_history.end() {
            self.fifo[(self.read + self.ready) % cap] = self.down.next(&self.model_history);
            self.ready += 1;
        }
    }
}

/// Simulates the chunk schedule over a whole period of the pattern (by sample indices alone) and
/// returns the FIFO's initial zeros (the fewest so every read finds its sample), the most model
/// samples one chunk makes, and the FIFO length needed.
fn schedule(mut up: Polyphase, mut down: Polyphase, chunk: usize) -> (usize, usize, usize) {
    let period = chunk / gcd(chunk, up.step) * up.step;
    let chunks = period / chunk + 4;
    let (mut made, mut model_made) = (0i64, 0i64);
    let (mut shift, mut max_model, mut max_backlog) = (chunk as i64 - 1, 0i64, 0i64);
    let mut backlog = Vec::with_capacity(chunks);
    for k in 1..=chunks as i64 {
        let host_end = k * chunk as i64;
        let before = model_made;
        while up.newest_next() < host_end {
            up.advance();
            model_made += 1;
        }
        max_model = max_model.max(model_made - before);
        while down.newest_next() < model_made {
            down.advance();
            made += 1;
        }
        // Reads before this chunk completes: up to host_end − 1 samples with `made` of the
        // previous chunk; at its last sample, host_end with this one's.
        shift = shift.max(host_end - made);
        backlog.push((host_end, made));
    }
    let mut previous = 0i64;
    for &(host_end, made) in &backlog {
        shift = shift.max(host_end - 1 - previous);
        max_backlog = max_backlog.max(made - (host_end - chunk as i64));
        previous = made;
    }
    (shift as usize, max_model as usize, (shift + max_backlog) as usize + 1)
}

/// A Kaiser-windowed sinc low-pass, in Hz and seconds (the same for both directions).
#[derive(Debug, Clone, Copy)]
struct Design {
    cutoff: f64,
    /// Half the filter's span in seconds.
    half_span: f64,
    beta: f64,
}

impl Design {
    /// Kaiser's formulas: β from the attenuation, the span from attenuation and transition width.
    fn kaiser(pass: f64, stop: f64, attenuation_db: f64) -> Design {
        let beta = 0.1102 * (attenuation_db - 8.7);
        let span = (attenuation_db - 7.95) / (2.285 * 2.0 * std::f64::consts::PI * (stop - pass));
        Design { cutoff: (pass + stop) / 2.0, half_span: span / 2.0, beta }
    }

    /// The half-width in samples at `rate`.
    fn half_width(&self, rate: f64) -> f64 {
        self.half_span * rate
    }

    /// The impulse response at `x` input samples from its centre, input at `rate` (unit DC gain).
    fn at(&self, x: f64, rate: f64) -> f64 {
        let u = x / self.half_width(rate);
        if u.abs() >= 1.0 {
            return 0.0;
        }
        let fc = 2.0 * self.cutoff / rate;
        let arg = std::f64::consts::PI * fc * x;
        let sinc = if arg == 0.0 { 1.0 } else { arg.sin() / arg };
        fc * sinc * bessel_i0(self.beta * (1.0 - u * u).sqrt()) / bessel_i0(self.beta)
    }
}

/// The modified Bessel function I₀ (power series; converges fast for the β used here).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > sum * 1e-17 {
        term *= (x / (2.0 * k)).powi(2);
        sum += term;
        k += 1.0;
    }
    sum
}

/// One rate change by a:b (output i at input time (i·a − delay)/b, in input samples): the filter
/// tabulated for each of the b phases, `taps` weights per phase, oldest input first.
#[derive(Debug, Clone)]
struct Polyphase {
    taps: usize,
    weights: Vec<f32>,
    /// Per phase: the newest input index it reads, relative to the output's whole input time.
    newest: Vec<i64>,
    step: usize,
    phases: usize,
    /// Output 0's whole input time and phase, and the next output's.
    start: (i64, usize),
    base: i64,
    phase: usize,
}

impl Polyphase {
    fn new(design: &Design, rate: f64, step: usize, phases: usize, delay: i64, half: f64) -> Polyphase {
        let taps = (2.0 * half).ceil() as usize + 1;
        let mut weights = Vec::with_capacity(phases * taps);
        let mut newest = Vec::with_capacity(phases);
        for r in 0..phases {
            let frac = r as f64 / phases as f64;
            let last = (frac + half).floor() as i64;
            // Tap j reads input (base + last − (taps − 1) + j), at distance frac − last + taps − 1 − j.
            let row: Vec<f64> =
                (0..taps).map(|j| design.at(frac - last as f64 + (taps - 1 - j) as f64, rate)).collect();
            let sum: f64 = row.iter().sum();
            // Each phase's weights sum to 1 exactly: no phase-dependent DC ripple.
            weights.extend(row.iter().map(|w| (w / sum) as f32));
            newest.push(last);
        }
        let t = -delay;
        let start = (t.div_euclid(phases as i64), t.rem_euclid(phases as i64) as usize);
        Polyphase { taps, weights, newest, step, phases, start, base: start.0, phase: start.1 }
    }

    fn rewind(&mut self) {
        (self.base, self.phase) = self.start;
    }

    /// The newest input index the next output reads.
    fn newest_next(&self) -> i64 {
        self.base + self.newest[self.phase]
    }

    /// The oldest input index the next output reads (older ones can be dropped).
    fn oldest_next(&self) -> i64 {
        self.newest_next() - (self.taps as i64 - 1)
    }

    /// The oldest input index output 0 reads (the reach back before the stream starts).
    fn oldest_first(&self) -> i64 {
        self.start.0 + self.newest[self.start.1] - (self.taps as i64 - 1)
    }

    fn advance(&mut self) {
        self.phase += self.step;
        self.base += (self.phase / self.phases) as i64;
        self.phase %= self.phases;
    }

    /// The next output from `history` (which holds every input it reads).
    fn next(&mut self, history: &History) -> f32 {
        let row = &self.weights[self.phase * self.taps..(self.phase + 1) * self.taps];
        let window = history.window(self.newest_next(), self.taps);
        let y = dot(row, window);
        self.advance();
        y
    }
}

/// Σ a·b in eight independent lanes (vectorisable; the order is fixed, so the result is too).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// A stretch of a signal by absolute sample index (`first` ..< `end()`), zeros before the start;
/// compacted in place when full, so pushing never allocates.
#[derive(Debug)]
struct History {
    data: Vec<f32>,
    first: i64,
    len: usize,
}

impl History {
    /// Room for the filter's reach back from its first output, plus `push` samples at a time.
    fn new(filter: &Polyphase, push: usize) -> History {
        let before = (-filter.oldest_first()).max(0) as usize;
        let mut history = History { data: vec![0.0; 2 * (before + filter.taps + push)], first: 0, len: 0 };
        history.reset(filter);
        history
    }

    fn reset(&mut self, filter: &Polyphase) {
        let before = (-filter.oldest_first()).max(0) as usize;
        self.data[..before].fill(0.0);
        self.first = -(before as i64);
        self.len = before;
    }

    fn end(&self) -> i64 {
        self.first + self.len as i64
    }

    /// Appends `samples`, first dropping what precedes `keep_from` if there is not room.
    fn push(&mut self, samples: &[f32], keep_from: i64) {
        if self.len + samples.len() > self.data.len() {
            let drop = (keep_from - self.first).clamp(0, self.len as i64) as usize;
            self.data.copy_within(drop..self.len, 0);
            self.first += drop as i64;
            self.len -= drop;
        }
        self.data[self.len..self.len + samples.len()].copy_from_slice(samples);
        self.len += samples.len();
    }

    /// The `taps` samples ending at index `newest`.
    fn window(&self, newest: i64, taps: usize) -> &[f32] {
        let end = (newest - self.first) as usize + 1;
        &self.data[end - taps..end]
    }
}
