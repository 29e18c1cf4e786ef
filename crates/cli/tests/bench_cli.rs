//! `omron bench` through the real binary: a shell glob over a folder of models (which also
//! matches plain files such as a README) benchmarks every model folder and skips the files with
//! a note; a missing path, or a folder that is no model, fails naming it before anything runs.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{omron, text};

/// `dir/mlp_small` (a copy of the bundled benchmark model) and `dir/README.md`, as
/// `bench/models/*` expands to.
fn models_folder(dir: &Path) -> Vec<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/models/mlp_small");
    let model = dir.join("mlp_small");
    std::fs::create_dir(&model).unwrap();
    for file in ["network.onnx", "input.json"] {
        std::fs::copy(source.join(file), model.join(file)).unwrap();
    }
    let readme = dir.join("README.md");
    std::fs::write(&readme, "# Benchmark models\n").unwrap();
    vec![model, readme]
}

fn bench(paths: &[PathBuf], cwd: &Path) -> std::process::Output {
    omron()
        .arg("bench")
        .args(["--reps", "1", "--json", "rows.json"])
        .args(paths)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn a_glob_with_a_readme_benchmarks_the_models_and_notes_the_skipped_file() {
    let dir = tempfile::tempdir().unwrap();
    let paths = models_folder(dir.path());
    let out = bench(&paths, dir.path());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");

    let rows: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("rows.json")).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["model"], "mlp_small");
    assert_eq!(rows[0]["argmax_agrees"], true);
    assert!(rows[0]["proof_bytes"].as_u64().unwrap() > 0, "{}", rows[0]);

    // The table: its header and one row, nothing about the README on stdout.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("model / circuit"), "{stdout}");
    assert!(lines[1].starts_with("mlp_small "), "{stdout}");
    // One note naming the skipped file; stderr is a pipe here, so no progress line.
    let readme = paths[1].display().to_string();
    assert_eq!(
        stderr,
        format!("omron: note: skipping {readme}: a file, not a model or circuit folder\n")
    );
}

#[test]
fn a_missing_path_fails_naming_it_before_any_model_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = models_folder(dir.path());
    let missing = dir.path().join("no_such_model");
    paths.push(missing.clone());
    let out = bench(&paths, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("cannot benchmark {}", missing.display())),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "nothing is measured first: {stdout}");
    assert!(!dir.path().join("rows.json").exists());
}

#[test]
fn a_folder_without_a_model_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = models_folder(dir.path());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("input.json"), "{\"input_data\": [[0.0]]}").unwrap();
    paths.insert(0, empty.clone());
    let out = bench(&paths, dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{} is neither a model folder (network.onnx or model.onnx) nor a circuit folder",
            empty.display()
        )),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn only_files_is_an_error_not_an_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let paths = models_folder(dir.path());
    let out = bench(&paths[1..], dir.path());
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("omron: note: skipping"), "{stderr}");
    assert!(
        stderr.contains("no model or circuit folder to benchmark"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
}
