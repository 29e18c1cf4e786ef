//! Replays the checked-in corpus of every target through the same functions the fuzzers run,
//! on stable Rust: `cargo test --manifest-path fuzz/Cargo.toml --no-default-features`.

use std::path::PathBuf;

#[test]
fn every_corpus_file_replays_without_a_failure() {
    // A panic inside a server task (the axon target) must fail the run as under libFuzzer,
    // where it aborts the process; tokio would otherwise swallow it.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::abort();
    }));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (name, run) in omron_fuzz::TARGETS {
        let dir = root.join(name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("corpus entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{name}: empty corpus");
        let started = std::time::Instant::now();
        for file in &files {
            let data = std::fs::read(file).expect("corpus file");
            run(&data);
        }
        eprintln!(
            "{name}: {} inputs in {:.1?}",
            files.len(),
            started.elapsed()
        );
    }
}
