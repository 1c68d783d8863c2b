//! Parsing and validation of a WaveNet `config` (both the legacy 0.5.x form and the 0.7.0 form the
//! trainer exports). Features this build cannot run yet are reported as `Unsupported`.

use crate::activation::Activation;
use crate::error::{NamError, Result};
use crate::json::{Field, Obj};
use crate::options::LoadOptions;

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
}

impl ArrayConfig {
    /// Rows of the pre-activation of layer `l`: 2·B for gated/blended layers.
    pub fn conv_out(&self, l: usize) -> usize {
        match self.gating[l] {
            Gating::None => self.bottleneck,
            _ => 2 * self.bottleneck,
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
            n += g * c * self.kernel_sizes[l] + g; // dilated conv + bias
            n += g * dc; // input mixin
            n += c * b + c; // layer1x1 + bias
        }
        n + self.head_size * b * self.head_kernel_size + if self.head_bias { self.head_size } else { 0 }
    }
}

/// A whole WaveNet config.
#[derive(Debug, Clone)]
pub struct WaveNetConfig {
    pub arrays: Vec<ArrayConfig>,
}

impl WaveNetConfig {
    /// Receptive field in samples, the trainer's definition (= NAM Core's prewarm count).
    pub fn receptive_field(&self) -> usize {
        1 + self.arrays.iter().map(ArrayConfig::history).sum::<usize>()
    }

    /// Weights the config needs, including the trailing `head_scale`.
    pub fn weight_count(&self) -> usize {
        self.arrays.iter().map(ArrayConfig::weight_count).sum::<usize>() + 1
    }

    pub fn parse(config: &serde_json::Value, options: &LoadOptions) -> Result<WaveNetConfig> {
        let root = Field::new(config, "config").object()?;
        let limits = &options.limits;
        // Required by NAM Core even though the last weight overrides the value.
        root.req("head_scale")?.f64()?;
        if let Some(f) = root.get_some("condition_dsp") {
            f.object()?;
            return Err(NamError::unsupported("WaveNet condition_dsp (config.condition_dsp)"));
        }
        if let Some(f) = root.get_some("head") {
            f.object()?;
            return Err(NamError::unsupported("WaveNet post-stack head (config.head)"));
        }
        let in_channels = match root.get_some("in_channels") {
            Some(f) => f.positive()?,
            None => 1,
        };
        if in_channels != 1 {
            return Err(NamError::unsupported(format!("multi-channel input (config.in_channels = {in_channels})")));
        }
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
        let config = WaveNetConfig { arrays };
        config.check_connections(in_channels)?;
        // Checked arithmetic: a hostile file can ask for dilations near usize::MAX.
        let mut rf: usize = 1;
        for (a, array) in config.arrays.iter().enumerate() {
            for (l, (&k, &d)) in array.kernel_sizes.iter().zip(&array.dilations).enumerate() {
                rf = (k - 1).checked_mul(d).and_then(|h| rf.checked_add(h)).ok_or_else(|| {
                    NamError::format(format!("config.layers[{a}].dilations[{l}]"), "receptive field overflows")
                })?;
            }
            rf = (array.head_kernel_size - 1)
                .checked_mul(array.head_dilation)
                .and_then(|h| rf.checked_add(h))
                .ok_or_else(|| NamError::format(format!("config.layers[{a}].head"), "receptive field overflows"))?;
        }
        options.check_limit("receptive field (samples)", limits.max_receptive_field, rf)?;
        Ok(config)
    }

    /// Shapes must chain: NAM Core checks some of these and silently misreads memory on others.
    fn check_connections(&self, in_channels: usize) -> Result<()> {
        for (a, array) in self.arrays.iter().enumerate() {
            let at = |key: &str| format!("config.layers[{a}].{key}");
            let expected_input = if a == 0 { in_channels } else { self.arrays[a - 1].channels };
            if array.input_size != expected_input {
                let source =
                    if a == 0 { "config.in_channels".to_string() } else { format!("layers[{}].channels", a - 1) };
                return Err(NamError::format(
                    at("input_size"),
                    format!("expected {expected_input} (= {source}), got {}", array.input_size),
                ));
            }
            if array.condition_size != in_channels {
                return Err(NamError::format(
                    at("condition_size"),
                    format!(
                        "expected {in_channels} (the model input, as there is no condition_dsp), got {}",
                        array.condition_size
                    ),
                ));
            }
            if a > 0 {
                let prev = self.arrays[a - 1].head_size;
                if array.bottleneck != prev {
                    return Err(NamError::format(
                        at("channels"),
                        format!(
                            "this array's head input has {} rows but layers[{}] hands it a head of size {prev}",
                            array.bottleneck,
                            a - 1
                        ),
                    ));
                }
            }
        }
        let last = self.arrays.last().map_or(1, |a| a.head_size);
        if last != 1 {
            return Err(NamError::unsupported(format!(
                "multi-channel output (the last layer array's head size is {last})"
            )));
        }
        Ok(())
    }
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
        .map(|f| Activation::parse(f, options.fast_tanh))
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

    check_unsupported_a2(obj)?;
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
            let g = match secondary.filter(|f| !f.is_null()) {
                Some(f) => Activation::parse(&f, options.fast_tanh)?,
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

/// A2-era keys accepted in their inactive/default form (as the trainer writes them); anything
/// active is reported as unsupported until the A2 milestone.
fn check_unsupported_a2(obj: &Obj<'_>) -> Result<()> {
    let at = |key: &str| format!("{}.{key}", obj.path);
    for key in ["groups_input", "groups_input_mixin"] {
        if let Some(f) = obj.get_some(key) {
            let g = f.positive()?;
            if g != 1 {
                return Err(NamError::unsupported(format!("grouped convolution ({} = {g})", at(key))));
            }
        }
    }
    if let Some(f) = obj.get_some("layer1x1") {
        let o = f.object()?;
        let active = o.req("active")?.bool()?;
        let groups = o.req("groups")?.positive()?;
        if !active {
            return Err(NamError::unsupported(format!("inactive layer1x1 ({}.active = false)", at("layer1x1"))));
        }
        if groups != 1 {
            return Err(NamError::unsupported(format!("grouped layer1x1 ({}.groups = {groups})", at("layer1x1"))));
        }
    }
    if let Some(f) = obj.get_some("head1x1") {
        let o = f.object()?;
        let active = o.req("active")?.bool()?;
        o.req("out_channels")?.positive()?;
        o.req("groups")?.positive()?;
        if active {
            return Err(NamError::unsupported(format!("head1x1 ({}.active = true)", at("head1x1"))));
        }
    }
    for key in FILMS {
        let Some(f) = obj.get_some(key) else { continue };
        if f.value == &serde_json::Value::Bool(false) {
            continue;
        }
        let o = f.object()?;
        // NAM Core: an object without "active" is on.
        let active = match o.get_some("active") {
            Some(a) => a.bool()?,
            None => true,
        };
        if active {
            return Err(NamError::unsupported(format!("FiLM conditioning ({} is active)", at(key))));
        }
    }
    if let Some(f) = obj.get_some("slimmable") {
        f.object()?;
        return Err(NamError::unsupported(format!("slimmable WaveNet ({})", at("slimmable"))));
    }
    Ok(())
}
