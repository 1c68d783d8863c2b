//! The malformed-file corpus (`tests/corpus/`, made by `make_corpus.py`): every case goes through
//! `NamModel::from_file_with_limits` + `Model::from_nam_with` and must fail with the `NamError`
//! variant and message substrings `expected.json` records (or load, for files NAM Core accepts),
//! each within a bounded time. The 100 MB and 300 MB cases are built here in a temporary folder.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use nam_rs::{Limits, LoadOptions, Model, NamError, NamModel};

/// Generous for a debug build on a shared 2-core machine; the slowest case (100 MB of
/// whitespace) takes a fraction of it.
const MAX_TIME_PER_CASE: Duration = Duration::from_secs(2);

/// Every kind of malformed input that issue #7 lists must have at least one case.
const REQUIRED_KINDS: [&str; 23] = [
    "truncated JSON",
    "invalid JSON",
    "wrong top-level type",
    "missing key",
    "extra keys",
    "weight count",
    "NaN/Inf in weights",
    "bad weight values",
    "channels/kernel sizes/dilations",
    "empty layer arrays",
    "length mismatch",
    "activation names and parameters",
    "versions",
    "sample rate",
    "deeply nested JSON",
    "100 MB of whitespace",
    "duplicate keys",
    "UTF-8 BOM",
    "condition_dsp recursion",
    "condition_dsp sample rate",
    "containers",
    "slimmable",
    "limits",
];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("corpus")
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(corpus_dir().join("expected.json")).expect("tests/corpus/expected.json");
    serde_json::from_str::<Value>(&text).expect("expected.json is JSON").as_array().expect("a list").clone()
}

fn limits_of(case: &Value) -> Limits {
    let mut limits = Limits::default();
    if let Some(map) = case.get("limits").and_then(Value::as_object) {
        for (key, value) in map {
            let v = value.as_u64().expect("limit values are integers") as usize;
            let slot = match key.as_str() {
                "max_json_bytes" => &mut limits.max_json_bytes,
                "max_weights" => &mut limits.max_weights,
                "max_channels" => &mut limits.max_channels,
                "max_kernel_size" => &mut limits.max_kernel_size,
                "max_receptive_field" => &mut limits.max_receptive_field,
                "max_layers" => &mut limits.max_layers,
                "max_prewarm_samples" => &mut limits.max_prewarm_samples,
                "max_nesting" => &mut limits.max_nesting,
                other => panic!("expected.json names an unknown limit {other}"),
            };
            *slot = v;
        }
    }
    limits
}

/// A file built at test time (too big to commit), removed on drop.
struct Generated(PathBuf);

impl Drop for Generated {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn generate(name: &str, spec: &Value) -> Generated {
    let path = std::env::temp_dir().join(format!("nam_rs_corpus_{}_{name}.nam", std::process::id()));
    if let Some(n) = spec.get("whitespace").and_then(Value::as_u64) {
        let mut bytes = vec![b' '; n as usize];
        if let Some(then) = spec.get("then").and_then(Value::as_str) {
            bytes.extend(std::fs::read(corpus_dir().join(then)).expect("the case generate.then names"));
        }
        std::fs::write(&path, bytes).expect("write the generated case");
    } else if let Some(n) = spec.get("sparse").and_then(Value::as_u64) {
        // A sparse file: its size is what matters, no disk space or time is spent on it.
        std::fs::File::create(&path).and_then(|f| f.set_len(n)).expect("create the sparse case");
    } else {
        panic!("{name}: unknown generate spec {spec}");
    }
    Generated(path)
}

fn load(path: &Path, limits: &Limits) -> Result<(NamModel, Model), NamError> {
    let nam = NamModel::from_file_with_limits(path, limits)?;
    let options = LoadOptions { limits: limits.clone(), ..LoadOptions::default() };
    let model = Model::from_nam_with(&nam, &options)
        .map_err(|e| NamError::InFile { path: path.display().to_string(), source: Box::new(e) })?;
    Ok((nam, model))
}

/// The variant name, from the derived `Debug` (`Format { .. }` → `Format`).
fn variant(e: &NamError) -> String {
    format!("{e:?}").split([' ', '{', '(']).next().unwrap_or_default().to_string()
}

fn strings(case: &Value, key: &str) -> Vec<String> {
    case.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|s| s.as_str().expect("strings").to_string()).collect())
        .unwrap_or_default()
}

/// Checks one case; returns what is wrong, if anything.
fn check(case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().expect("name");
    let _generated;
    let path = match case.get("generate") {
        Some(spec) => {
            _generated = generate(name, spec);
            _generated.0.clone()
        }
        None => corpus_dir().join(case["file"].as_str().expect("file")),
    };
    let limits = limits_of(case);
    let start = Instant::now();
    let result = load(&path, &limits);
    let elapsed = start.elapsed();
    if elapsed > MAX_TIME_PER_CASE {
        return Err(format!("took {elapsed:?} (limit {MAX_TIME_PER_CASE:?})"));
    }
    match (case["outcome"].as_str(), result) {
        (Some("loads"), Ok((nam, mut model))) => {
            let expected = strings(case, "warnings");
            let got = nam.warnings();
            if got.len() != expected.len() || !expected.iter().zip(got).all(|(e, g)| g.contains(e.as_str())) {
                return Err(format!("warnings {got:?}, expected ones containing {expected:?}"));
            }
            // A file that loads must run: a few samples give finite output.
            let mut block = [0.0f32, 0.25, -0.5, 1.0, 0.0];
            model.process_buffer(&mut block);
            if !block.iter().all(|v| v.is_finite()) {
                return Err(format!("loads, but processing gives {block:?}"));
            }
            Ok(())
        }
        (Some("loads"), Err(e)) => Err(format!("should load (NAM Core does) but fails: {e}")),
        (Some("error"), Ok(_)) => Err("should fail but loads".to_string()),
        (Some("error"), Err(e)) => {
            let message = e.to_string();
            let want = case["rust"].as_str().expect("rust");
            if variant(e.root()) != want {
                return Err(format!("variant {} (expected {want}): {message}", variant(e.root())));
            }
            let missing: Vec<String> =
                strings(case, "contains").into_iter().filter(|s| !message.contains(s.as_str())).collect();
            if !missing.is_empty() {
                return Err(format!("message lacks {missing:?}: {message}"));
            }
            Ok(())
        }
        (other, _) => Err(format!("unknown outcome {other:?}")),
    }
}

#[test]
fn every_corpus_case_fails_or_loads_as_expected_in_bounded_time() {
    let cases = cases();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| check(case).err().map(|why| format!("{}: {why}", case["name"].as_str().unwrap_or("?"))))
        .collect();
    assert!(failures.is_empty(), "{} of {} corpus cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn corpus_covers_every_kind_the_issue_lists() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let kinds: Vec<&str> = cases.iter().filter_map(|c| c["kind"].as_str()).collect();
    let missing: Vec<&&str> = REQUIRED_KINDS.iter().filter(|k| !kinds.contains(k)).collect();
    assert!(missing.is_empty(), "kinds without a case: {missing:?}");
    // The committed files are exactly the ones expected.json names (no stale or missing file).
    let mut named: Vec<String> = cases.iter().filter_map(|c| c["file"].as_str().map(str::to_string)).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("tests/corpus")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".nam"))
        .collect();
    named.sort();
    on_disk.sort();
    assert_eq!(named, on_disk, "tests/corpus is out of date: run python tests/corpus/make_corpus.py");
}
