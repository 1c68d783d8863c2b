//! Parsing and validation of a WaveNet `config` (both the legacy 0.5.x form and the 0.7.0 form the
//! trainer exports). Features this build cannot run yet are reported as `Unsupported`.

use crate::activation::Activation;
use crate::conv::Conv;
use crate::error::{NamError, Result};
use crate::file::NamModel;
use crate::json::{Field, Obj};
use crate::options::{LoadOptions, Semantics};

/// How a layer combines its pre-activation rows (NAM Core `GatingMode`).
#[derive(Debug, Clone, PartialEq)]
pub enum Gating {
    /// `a = f(z)` over `bottleneck` rows.
    None,
    /// `a = f(z_top) · g(z_bottom)` over 2·`bottleneck` rows.
    Gated(Activation),
    /// `α = g(z_bottom); a = α·f(z_top) + (1−α)·z_top`.
    Blended(Activation),
}

/// One layer array, fully resolved (per-layer lists expanded).
#[derive(Debug, Clone)]
pub struct ArrayConfig {
    pub input_size: usize,
    pub condition_size: usize,
    pub channels: usize,
    pub bottleneck: usize,
    pub kernel_sizes: Vec<usize>,
    pub dilations: Vec<usize>,
    pub activations: Vec<Activation>,
    pub gating: Vec<Gating>,
    pub head_size: usize,
    pub head_kernel_size: usize,
    pub head_dilation: usize,
    pub head_bias: bool,
    /// Groups of the dilated convolution and of the input mixin.
    pub groups_input: usize,
    pub groups_mixin: usize,
    /// `Some(groups)` when the residual 1×1 is active (NAM Core's default); inactive ⇒ next = x.
    pub layer1x1: Option<usize>,
    /// `Some((out_channels, groups))` when the head 1×1 is active.
    pub head1x1: Option<(usize, usize)>,
    /// The eight FiLM sites, in `FILMS` order.
    pub films: [Option<FilmConfig>; 8],
    /// `slimmable.kwargs.allowed_channels` (default 1..=channels) when the array is slimmable.
    pub slimmable: Option<Vec<usize>>,
    /// NAM Core's or the trainer's reading of the residual path (`layer1x1` off, its FiLM).
    pub semantics: Semantics,
}

/// One active FiLM: scale (and shift) rows computed by a 1×1 of the conditioning input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilmConfig {
    pub shift: bool,
    pub groups: usize,
}

/// Indices into `ArrayConfig::films`, in NAM Core's weight order.
pub const CONV_PRE: usize = 0;
pub const CONV_POST: usize = 1;
pub const MIXIN_PRE: usize = 2;
pub const MIXIN_POST: usize = 3;
pub const ACTIVATION_PRE: usize = 4;
pub const ACTIVATION_POST: usize = 5;
pub const LAYER1X1_POST: usize = 6;
pub const HEAD1X1_POST: usize = 7;

impl ArrayConfig {
    /// Rows of the pre-activation of layer `l`: 2·B for gated/blended layers.
    pub fn conv_out(&self, l: usize) -> usize {
        match self.gating[l] {
            Gating::None => self.bottleneck,
            _ => 2 * self.bottleneck,
        }
    }

    /// Rows the head accumulator (and the head convolution's input) has.
    pub fn head_input(&self) -> usize {
        self.head1x1.map_or(self.bottleneck, |(out, _)| out)
    }

    /// Rows a FiLM at `site` modulates in layer `l`.
    pub fn film_dim(&self, site: usize, l: usize) -> usize {
        match site {
            CONV_PRE | LAYER1X1_POST => self.channels,
            MIXIN_PRE => self.condition_size,
            CONV_POST | MIXIN_POST | ACTIVATION_PRE => self.conv_out(l),
            ACTIVATION_POST => self.bottleneck,
            _ => self.head_input(),
        }
    }

    /// Samples of history the array needs (its part of the receptive field).
    pub fn history(&self) -> usize {
        let layers: usize = self.kernel_sizes.iter().zip(&self.dilations).map(|(k, d)| (k - 1) * d).sum();
        layers + (self.head_kernel_size - 1) * self.head_dilation
    }

    /// Number of weights this array reads from the flat array.
    pub fn weight_count(&self) -> usize {
        let (c, b, dc) = (self.channels, self.bottleneck, self.condition_size);
        let mut n = c * self.input_size;
        for l in 0..self.dilations.len() {
            let g = self.conv_out(l);
            n += Conv::weight_count(c, g, self.kernel_sizes[l], true, self.groups_input);
            n += Conv::weight_count(dc, g, 1, false, self.groups_mixin);
            if let Some(groups) = self.layer1x1 {
                n += Conv::weight_count(b, c, 1, true, groups);
            }
            if let Some((h1, groups)) = self.head1x1 {
                n += Conv::weight_count(b, h1, 1, true, groups);
            }
            for (site, film) in self.films.iter().enumerate() {
                if let Some(f) = film {
                    let rows = if f.shift { 2 } else { 1 } * self.film_dim(site, l);
                    n += Conv::weight_count(dc, rows, 1, true, f.groups);
                }
            }
        }
        n + Conv::weight_count(self.head_input(), self.head_size, self.head_kernel_size, self.head_bias, 1)
    }
}

/// A whole WaveNet config.
#[derive(Debug, Clone)]
pub struct WaveNetConfig {
    pub arrays: Vec<ArrayConfig>,
    pub in_channels: usize,
    /// A nested `.nam` whose output replaces the conditioning input.
    pub condition_dsp: Option<NamModel>,
    /// Where this config sits in the file (`config`, `config.condition_dsp.config`, ...).
    pub path: String,
    /// The post-stack head: [activation → conv] × n after the last array.
    pub post_head: Option<PostHeadConfig>,
}

/// `config.head`: convolutions (dilation 1, bias) after the layer arrays, each preceded by the
/// activation; `channels` wide except the last, which has `out_channels`.
#[derive(Debug, Clone)]
pub struct PostHeadConfig {
    pub channels: usize,
    pub out_channels: usize,
    pub kernel_sizes: Vec<usize>,
    pub activation: Activation,
}

impl PostHeadConfig {
    /// (in, out, kernel) of each convolution, given the last array's head size.
    pub fn convs(&self, in_channels: usize) -> Vec<(usize, usize, usize)> {
        let n = self.kernel_sizes.len();
        let mut cin = in_channels;
        self.kernel_sizes
            .iter()
            .enumerate()
            .map(|(j, &k)| {
                let cout = if j + 1 == n { self.out_channels } else { self.channels };
                let shape = (cin, cout, k);
                cin = cout;
                shape
            })
            .collect()
    }
}

impl WaveNetConfig {
    /// Receptive field in samples, the trainer's definition (= NAM Core's prewarm count).
    pub fn receptive_field(&self) -> usize {
        let post: usize = self.post_head.as_ref().map_or(0, |h| h.kernel_sizes.iter().map(|k| k - 1).sum());
        self.arrays.iter().map(ArrayConfig::history).sum::<usize>() + post + 1
    }

    /// Weights the config needs, including the trailing `head_scale`.
    pub fn weight_count(&self) -> usize {
        let post: usize = self.post_head.as_ref().map_or(0, |h| {
            h.convs(self.last_head_size()).iter().map(|&(i, o, k)| Conv::weight_count(i, o, k, true, 1)).sum()
        });
        self.arrays.iter().map(ArrayConfig::weight_count).sum::<usize>() + post + 1
    }

    /// Parses `config`; `path` names it in errors, `sample_rate` is the file's (a condition_dsp
    /// must have the same), `depth` counts the condition_dsp nesting.
    pub fn parse(
        config: &serde_json::Value,
        path: &str,
        sample_rate: Option<f64>,
        options: &LoadOptions,
        depth: usize,
    ) -> Result<WaveNetConfig> {
        let root = Field::new(config, path).object()?;
        let limits = &options.limits;
        // Required by NAM Core even though the last weight overrides the value.
        root.req("head_scale")?.f64()?;
        let head_field = root.get_some("head");
        let in_channels = match root.get_some("in_channels") {
            Some(f) => f.positive()?,
            None => 1,
        };
        options.check_limit("config.in_channels (channels)", limits.max_channels, in_channels)?;
        let condition_dsp = match root.get_some("condition_dsp") {
            None => None,
            Some(f) => {
                options.check_limit("condition_dsp nesting depth", limits.max_nesting, depth + 1)?;
                let nested = NamModel::from_value(f.value, &f.path, limits)?;
                if nested.sample_rate != sample_rate {
                    let show = |r: Option<f64>| r.map_or("unknown".to_string(), |r| format!("{r} Hz"));
                    return Err(f.error(format!(
                        "its sample_rate ({}) must equal the model's ({}), as NAM Core requires",
                        show(nested.sample_rate),
                        show(sample_rate)
                    )));
                }
                Some(nested)
            }
        };
        let layers = root.req("layers")?;
        let items = layers.items()?;
        if items.is_empty() {
            return Err(layers.expected("a non-empty list of layer arrays"));
        }
        let mut arrays = Vec::with_capacity(items.len().min(limits.max_layers));
        let mut total_layers = 0usize;
        for item in &items {
            let array = parse_array(&item.object()?, options)?;
            total_layers += array.dilations.len();
            options.check_limit("number of WaveNet layers", limits.max_layers, total_layers)?;
            arrays.push(array);
        }
        let last_head = arrays.last().map_or(1, |a| a.head_size);
        let post_head = match head_field {
            None => None,
            Some(f) => Some(parse_post_head(&f.object()?, last_head, options)?),
        };
        let config = WaveNetConfig { arrays, in_channels, condition_dsp, path: path.to_string(), post_head };
        // Checked arithmetic: a hostile file can ask for dilations near usize::MAX.
        let mut rf: usize = 1;
        let limit = limits.max_receptive_field;
        let overflow = |field: String, k: usize, d: usize| {
            let message =
                format!("dilation {d} with kernel size {k} makes the receptive field overflow (limit {limit})");
            NamError::format(field, message)
        };
        for (a, array) in config.arrays.iter().enumerate() {
            for (l, (&k, &d)) in array.kernel_sizes.iter().zip(&array.dilations).enumerate() {
                rf = (k - 1)
                    .checked_mul(d)
                    .and_then(|h| rf.checked_add(h))
                    .ok_or_else(|| overflow(format!("{path}.layers[{a}].dilations[{l}]"), k, d))?;
            }
            let (k, d) = (array.head_kernel_size, array.head_dilation);
            rf = (k - 1)
                .checked_mul(d)
                .and_then(|h| rf.checked_add(h))
                .ok_or_else(|| overflow(format!("{path}.layers[{a}].head.head_dilation"), k, d))?;
        }
        options.check_limit("receptive field (samples)", limits.max_receptive_field, rf)?;
        Ok(config)
    }

    /// Shapes must chain: NAM Core checks some of these and silently misreads memory on others.
    /// `cond_channels` is what feeds `condition_size`: the condition_dsp's outputs or the input.
    pub fn check_connections(&self, cond_channels: usize) -> Result<()> {
        for (a, array) in self.arrays.iter().enumerate() {
            let at = |key: &str| format!("{}.layers[{a}].{key}", self.path);
            let expected_input = if a == 0 { self.in_channels } else { self.arrays[a - 1].channels };
            if array.input_size != expected_input {
                let source = if a == 0 { "in_channels".to_string() } else { format!("layers[{}].channels", a - 1) };
                return Err(NamError::format(
                    at("input_size"),
                    format!("expected {expected_input} (= {source}), got {}", array.input_size),
                ));
            }
            if array.condition_size != cond_channels {
                let source =
                    if self.condition_dsp.is_some() { "the condition_dsp's outputs" } else { "the model input" };
                return Err(NamError::format(
                    at("condition_size"),
                    format!("expected {cond_channels} ({source}), got {}", array.condition_size),
                ));
            }
            if a > 0 {
                let prev = self.arrays[a - 1].head_size;
                if array.head_input() != prev {
                    return Err(NamError::format(
                        at("channels"),
                        format!(
                            "this array's head input has {} rows but layers[{}] hands it a head of size {prev}",
                            array.head_input(),
                            a - 1
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Output channels: the post-stack head's, or the last array's head size.
    pub fn out_channels(&self) -> usize {
        self.post_head.as_ref().map_or(self.last_head_size(), |h| h.out_channels)
    }

    pub fn last_head_size(&self) -> usize {
        self.arrays.last().map_or(1, |a| a.head_size)
    }
}

/// `config.head` with NAM Core's rules (a legacy `in_channels` must equal the last head size).
fn parse_post_head(obj: &Obj<'_>, last_head: usize, options: &LoadOptions) -> Result<PostHeadConfig> {
    let limits = &options.limits;
    if let Some(f) = obj.get_some("in_channels") {
        let v = f.positive()?;
        if v != last_head {
            return Err(f.error(format!("must equal the last layer array's head size ({last_head}), got {v}")));
        }
    }
    let channels = obj.req("channels")?.positive()?;
    let out_channels = obj.req("out_channels")?.positive()?;
    options.check_limit(&format!("{}.channels (channels)", obj.path), limits.max_channels, channels)?;
    options.check_limit(&format!("{}.out_channels (channels)", obj.path), limits.max_channels, out_channels)?;
    let ks = obj.req("kernel_sizes")?;
    let kernel_sizes = ks
        .items()?
        .iter()
        .map(|f| {
            let k = f.positive()?;
            options.check_limit(&format!("{} (kernel size)", f.path), limits.max_kernel_size, k)?;
            Ok(k)
        })
        .collect::<Result<Vec<_>>>()?;
    if kernel_sizes.is_empty() {
        return Err(ks.expected("a non-empty list of kernel sizes"));
    }
    let activation = Activation::parse(&obj.req("activation")?, options.fast_tanh, options.semantics)?;
    let head = PostHeadConfig { channels, out_channels, kernel_sizes, activation };
    for (j, (cin, _, _)) in head.convs(last_head).into_iter().enumerate() {
        head.activation.check_channels(cin, &format!("{}.activation (before conv {j})", obj.path))?;
    }
    Ok(head)
}

/// A value given either once for every layer or as a list with one entry per layer.
fn per_layer<'a>(field: &Field<'a>, layers: usize) -> Result<Vec<Field<'a>>> {
    if field.value.is_array() {
        let items = field.items()?;
        if items.len() != layers {
            return Err(field.error(format!(
                "expected one entry per layer ({layers}, the length of dilations), got {}",
                items.len()
            )));
        }
        Ok(items)
    } else {
        Ok(vec![field.clone(); layers])
    }
}

fn parse_array(obj: &Obj<'_>, options: &LoadOptions) -> Result<ArrayConfig> {
    let limits = &options.limits;
    let channels_limit = |f: &Field<'_>| -> Result<usize> {
        let v = f.positive()?;
        options.check_limit(&format!("{} (channels)", f.path), limits.max_channels, v)?;
        Ok(v)
    };
    let input_size = channels_limit(&obj.req("input_size")?)?;
    let condition_size = channels_limit(&obj.req("condition_size")?)?;
    let channels = channels_limit(&obj.req("channels")?)?;
    let bottleneck = match obj.get_some("bottleneck") {
        Some(f) => channels_limit(&f)?,
        None => channels,
    };

    let dilations_field = obj.req("dilations")?;
    let dilations = dilations_field.items()?.iter().map(Field::positive).collect::<Result<Vec<_>>>()?;
    if dilations.is_empty() {
        return Err(dilations_field.expected("a non-empty list of dilations"));
    }
    options.check_limit("number of WaveNet layers", limits.max_layers, dilations.len())?;
    let layers = dilations.len();

    let kernel = |f: &Field<'_>| -> Result<usize> {
        let k = f.positive()?;
        options.check_limit(&format!("{} (kernel size)", f.path), limits.max_kernel_size, k)?;
        Ok(k)
    };
    let kernel_sizes = match (obj.get_some("kernel_size"), obj.get_some("kernel_sizes")) {
        (Some(_), Some(_)) => return Err(obj.error("give either kernel_size or kernel_sizes, not both")),
        (Some(f), None) => vec![kernel(&f)?; layers],
        (None, Some(f)) => {
            let items = f.items()?;
            if items.len() != layers {
                return Err(f.error(format!("expected {layers} kernel sizes (one per dilation), got {}", items.len())));
            }
            items.iter().map(kernel).collect::<Result<Vec<_>>>()?
        }
        (None, None) => return Err(obj.error("required key kernel_size (or kernel_sizes) is missing")),
    };

    let activations = per_layer(&obj.req("activation")?, layers)?
        .iter()
        .map(|f| Activation::parse(f, options.fast_tanh, options.semantics))
        .collect::<Result<Vec<_>>>()?;

    let gating = parse_gating(obj, layers, options)?;
    for (l, (act, gate)) in activations.iter().zip(&gating).enumerate() {
        let path = format!("{}.activation[{l}]", obj.path);
        act.check_channels(bottleneck, &path)?;
        if let Gating::Gated(g) | Gating::Blended(g) = gate {
            g.check_channels(bottleneck, &format!("{}.secondary_activation[{l}]", obj.path))?;
        }
    }

    let (head_size, head_kernel_size, head_dilation, head_bias) = match obj.get_some("head") {
        Some(f) => {
            let head = f.object()?;
            let size = channels_limit(&head.req("out_channels")?)?;
            let k = kernel(&head.req("kernel_size")?)?;
            let bias = head.req("bias")?.bool()?;
            let dilation = match head.get_some("head_dilation") {
                Some(d) => d.positive()?,
                None => 1,
            };
            (size, k, dilation, bias)
        }
        None => (channels_limit(&obj.req("head_size")?)?, 1, 1, obj.req("head_bias")?.bool()?),
    };

    let a2 = parse_a2(obj, channels, bottleneck, condition_size, &gating, options.semantics)?;
    Ok(ArrayConfig {
        input_size,
        condition_size,
        channels,
        bottleneck,
        kernel_sizes,
        dilations,
        activations,
        gating,
        head_size,
        head_kernel_size,
        head_dilation,
        head_bias,
        groups_input: a2.groups_input,
        groups_mixin: a2.groups_mixin,
        layer1x1: a2.layer1x1,
        head1x1: a2.head1x1,
        films: a2.films,
        slimmable: a2.slimmable,
        semantics: options.semantics,
    })
}

fn parse_gating(obj: &Obj<'_>, layers: usize, options: &LoadOptions) -> Result<Vec<Gating>> {
    let modes: Vec<String> = match obj.get_some("gating_mode") {
        Some(f) => per_layer(&f, layers)?
            .iter()
            .map(|m| match m.string()? {
                s @ ("none" | "gated" | "blended") => Ok(s.to_string()),
                _ => Err(m.expected("\"none\", \"gated\" or \"blended\"")),
            })
            .collect::<Result<_>>()?,
        None => {
            let gated = match obj.get_some("gated") {
                Some(f) => f.bool()?,
                None => false,
            };
            vec![if gated { "gated" } else { "none" }.to_string(); layers]
        }
    };
    let secondaries = match obj.get_some("secondary_activation") {
        Some(f) => per_layer(&f, layers)?.into_iter().map(Some).collect(),
        None => vec![None; layers],
    };
    modes
        .iter()
        .zip(secondaries)
        .map(|(mode, secondary)| {
            if mode == "none" {
                // NAM Core never reads the secondary activation of an ungated layer (it may be null or "").
                return Ok(Gating::None);
            }
            // Absent means Sigmoid (files before A2); a `null` on a gated layer is an error in NAM
            // Core (its activation parser throws) and the trainer alike.
            let g = match secondary {
                Some(f) if f.is_null() => return Err(f.expected("an activation for a gated or blended layer")),
                Some(f) => Activation::parse(&f, options.fast_tanh, options.semantics)?,
                None => Activation::Sigmoid,
            };
            Ok(if mode == "gated" { Gating::Gated(g) } else { Gating::Blended(g) })
        })
        .collect()
}

const FILMS: [&str; 8] = [
    "conv_pre_film",
    "conv_post_film",
    "input_mixin_pre_film",
    "input_mixin_post_film",
    "activation_pre_film",
    "activation_post_film",
    "layer1x1_post_film",
    "head1x1_post_film",
];

/// The A2-era settings of one array.
struct A2Settings {
    groups_input: usize,
    groups_mixin: usize,
    layer1x1: Option<usize>,
    head1x1: Option<(usize, usize)>,
    films: [Option<FilmConfig>; 8],
    slimmable: Option<Vec<usize>>,
}

/// Reads groups, `layer1x1`, `head1x1`, the FiLMs and `slimmable`, with NAM Core's rules and
/// its divisibility checks (which it makes in the convolution constructors).
fn parse_a2(
    obj: &Obj<'_>,
    c: usize,
    b: usize,
    dc: usize,
    gating: &[Gating],
    semantics: Semantics,
) -> Result<A2Settings> {
    let at = |key: &str| format!("{}.{key}", obj.path);
    let divides = |field: String, groups: usize, widths: &[(&str, usize)]| -> Result<()> {
        for (what, width) in widths {
            if width % groups != 0 {
                return Err(NamError::format(
                    field.clone(),
                    format!("{groups} groups do not divide the {width} {what} channels"),
                ));
            }
        }
        Ok(())
    };
    let groups = |key: &str| -> Result<usize> { obj.get_some(key).map_or(Ok(1), |f| f.positive()) };
    let groups_input = groups("groups_input")?;
    let groups_mixin = groups("groups_input_mixin")?;
    let max_g = gating.iter().map(|g| if *g == Gating::None { b } else { 2 * b });
    for g in max_g {
        divides(at("groups_input"), groups_input, &[("input", c), ("output", g)])?;
        divides(at("groups_input_mixin"), groups_mixin, &[("condition", dc), ("output", g)])?;
    }
    // NAM Core requires every key of a layer1x1/head1x1 object; the trainer's configs have defaults.
    let trainer = semantics == Semantics::Trainer;
    let flag = |o: &Obj<'_>, key: &str, default: bool| -> Result<bool> {
        match o.get_some(key) {
            None if trainer => Ok(default),
            _ => o.req(key)?.bool(),
        }
    };
    let size = |o: &Obj<'_>, key: &str| -> Result<usize> {
        match o.get_some(key) {
            None if trainer => Ok(1),
            _ => o.req(key)?.positive(),
        }
    };
    let layer1x1 = match obj.get_some("layer1x1") {
        None => Some(1),
        Some(f) => {
            let o = f.object()?;
            let active = flag(&o, "active", true)?;
            let groups = size(&o, "groups")?;
            if active {
                divides(at("layer1x1.groups"), groups, &[("bottleneck", b), ("residual", c)])?;
                Some(groups)
            } else {
                if b != c {
                    return Err(f.error(format!(
                        "an inactive layer1x1 needs bottleneck == channels (got {b} and {c}), as NAM Core requires"
                    )));
                }
                None
            }
        }
    };
    let head1x1 = match obj.get_some("head1x1") {
        None => None,
        Some(f) => {
            let o = f.object()?;
            let active = flag(&o, "active", false)?;
            let out = size(&o, "out_channels")?;
            let groups = size(&o, "groups")?;
            if active {
                divides(at("head1x1.groups"), groups, &[("bottleneck", b), ("output", out)])?;
                Some((out, groups))
            } else {
                None
            }
        }
    };
    let mut films = [None; 8];
    for (site, key) in FILMS.iter().enumerate() {
        let Some(f) = obj.get_some(key) else { continue };
        if f.value == &serde_json::Value::Bool(false) {
            continue;
        }
        let o = f.object()?;
        // NAM Core: an object without "active" is on (the trainer: off); "shift" defaults to
        // true, "groups" to 1.
        let active = o.get_some("active").map_or(Ok(semantics == Semantics::Core), |a| a.bool())?;
        if !active {
            continue;
        }
        let shift = o.get_some("shift").map_or(Ok(true), |a| a.bool())?;
        let groups = o.get_some("groups").map_or(Ok(1), |a| a.positive())?;
        if site == LAYER1X1_POST && layer1x1.is_none() {
            return Err(f.error("layer1x1_post_film needs an active layer1x1"));
        }
        if site == HEAD1X1_POST && head1x1.is_none() {
            return Err(f.error("head1x1_post_film needs an active head1x1"));
        }
        let head = head1x1.map_or(b, |(out, _)| out);
        let dims: Vec<usize> = match site {
            CONV_PRE | LAYER1X1_POST => vec![c],
            MIXIN_PRE => vec![dc],
            CONV_POST | MIXIN_POST | ACTIVATION_PRE => {
                gating.iter().map(|g| if *g == Gating::None { b } else { 2 * b }).collect()
            }
            ACTIVATION_POST => vec![b],
            _ => vec![head],
        };
        for d in dims {
            let rows = if shift { 2 * d } else { d };
            divides(at(&format!("{key}.groups")), groups, &[("condition", dc), ("FiLM output", rows)])?;
        }
        films[site] = Some(FilmConfig { shift, groups });
    }
    let slimmable = match obj.get_some("slimmable") {
        None => None,
        Some(f) => {
            let o = f.object()?;
            let method = o.req("method")?;
            if method.string()? != "slice_channels_uniform" {
                return Err(method.expected("\"slice_channels_uniform\" (the only method NAM Core knows)"));
            }
            let allowed =
                match o.get_some("kwargs").and_then(|k| k.object().ok()).and_then(|k| k.get_some("allowed_channels")) {
                    None => (1..=c).collect::<Vec<_>>(),
                    Some(list) => {
                        let v = list.items()?.iter().map(Field::positive).collect::<Result<Vec<_>>>()?;
                        if v.is_empty() || v.windows(2).any(|w| w[0] >= w[1]) || v[v.len() - 1] != c {
                            return Err(list.error(format!(
                                "allowed_channels must be strictly ascending and end at channels ({c}), got {v:?}"
                            )));
                        }
                        v
                    }
                };
            // NAM Core checks the convolutions' groups; its slicing also assumes ungrouped FiLMs.
            if groups_input != 1
                || groups_mixin != 1
                || layer1x1.is_some_and(|g| g != 1)
                || head1x1.is_some_and(|(_, g)| g != 1)
                || films.iter().flatten().any(|film| film.groups != 1)
            {
                return Err(f.error("slimmable arrays need groups 1 everywhere (NAM Core's rule)"));
            }
            Some(allowed)
        }
    };
    Ok(A2Settings { groups_input, groups_mixin, layer1x1, head1x1, films, slimmable })
}
