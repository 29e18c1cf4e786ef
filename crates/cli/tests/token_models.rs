//! A token-id model through the real `omron` binary: nanoGPT (bench/models/nanogpt, 65-token
//! vocabulary, 64-token prompts) compiles without `--calibration` (the synthetic accuracy
//! input draws token ids from the vocabulary, not floats), `omron circuit inspect` shows the
//! ids' range, and `omron prove` prints a bounded summary of its 4160 logits while
//! `--output-json` keeps every value.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{check, omron};

fn nanogpt() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/models/nanogpt")
}

/// The number after `label` in `line`, up to the next comma.
fn figure(line: &str, label: &str) -> f64 {
    let rest = &line[line.find(label).unwrap() + label.len()..];
    rest.split(',').next().unwrap().trim().parse().unwrap()
}

#[test]
fn nanogpt_compiles_without_calibration_and_prove_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let src = nanogpt();
    let stdout = check(
        omron()
            .args([
                "circuit",
                "compile",
                src.join("network.onnx").to_str().unwrap(),
                "--out",
                "circuit",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap(),
        "compile without --calibration",
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("accuracy on a synthetic input (no --calibration given)"))
        .unwrap_or_else(|| panic!("no accuracy line:\n{stdout}"));
    // Every activation at the default scale (2^-8): logits within a few steps of the float
    // model's, and the same next token.
    let (max, mean) = (
        figure(line, "max abs error"),
        figure(line, "mean abs error"),
    );
    assert!(max > 0.0 && max < 0.5, "{line}");
    assert!(mean > 0.0 && mean < 0.1, "{line}");
    assert!(line.ends_with("argmax agrees"), "{line}");

    // The inspection names the ids' range: the vocabulary, not 16 bits.
    let inspected = check(
        omron()
            .args(["circuit", "inspect", "circuit"])
            .current_dir(dir.path())
            .output()
            .unwrap(),
        "inspect",
    );
    assert!(
        inspected.contains("input 0           shape [1, 64], scale 2^0, token ids in [0, 65)\n"),
        "{inspected}"
    );

    let stdout = check(
        omron()
            .args([
                "prove",
                "--circuit",
                "circuit",
                "--input",
                src.join("input.json").to_str().unwrap(),
                "--out",
                "proof.bin",
                "--output-json",
                "out.json",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap(),
        "prove",
    );
    assert!(stdout.len() < 2000, "a bounded summary: {stdout}");
    let output_line = stdout
        .lines()
        .find(|l| l.starts_with("output   "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        output_line.starts_with("output   4160 values (all in --output-json); first 16: ["),
        "{output_line}"
    );
    let argmax_line = stdout
        .lines()
        .find(|l| l.starts_with("argmax   "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let token: usize = argmax_line["argmax   ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        argmax_line.contains(" of the last 65 values"),
        "{argmax_line}"
    );

    // The file has every value; the printed argmax is the last position's.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap())
            .unwrap();
    let values: Vec<f64> = json["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(values.len(), 64 * 65);
    let last = &values[values.len() - 65..];
    let best = last.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(last[token], best, "{argmax_line}");
    let head: Vec<String> = values[..16].iter().map(|v| format!("{v:?}")).collect();
    assert!(
        output_line.ends_with(&format!("[{}]", head.join(", "))),
        "{output_line}"
    );

    let verified = check(
        omron()
            .args([
                "verify",
                "--circuit",
                "circuit",
                "--input",
                src.join("input.json").to_str().unwrap(),
                "--proof",
                "proof.bin",
                "--output-json",
                "out.json",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap(),
        "verify",
    );
    assert_eq!(verified.trim(), "verified");
}
