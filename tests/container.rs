//! The container image's layout, checked without a container runtime.
//!
//! There is no Docker on the build machines, so the image itself is not
//! built here. What can go wrong without Docker is checked instead: the
//! Dockerfile is multi-stage, runs as a non-root user and exposes 9898; and
//! its `/etc/logveil` (the shipped config rewritten by the Dockerfile's own
//! `sed` expressions, plus `pipelines/`) passes `logveil check`, the image's
//! start check, from outside the repository.

use std::path::Path;
use std::process::Command;

use regex::Regex;

fn repo(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(t);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

#[test]
fn dockerfile_is_multi_stage_non_root_and_exposes_metrics() {
    let ins = instructions(&repo("Dockerfile"));
    let of = |kw: &str| -> Vec<&String> {
        ins.iter().filter(|i| i.starts_with(&format!("{kw} "))).collect()
    };
    let froms = of("FROM");
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage: {froms:?}");
    assert!(froms[0].starts_with("FROM rust:") && froms[0].ends_with(" AS build"), "{}", froms[0]);
    assert!(froms[1].contains("-slim"), "a slim runtime base: {}", froms[1]);
    assert!(
        of("COPY").iter().any(|c| c.starts_with("COPY --from=build ")),
        "the runtime stage takes only the binary from the build stage"
    );
    let user = of("USER");
    assert_eq!(user.len(), 1);
    let who = user[0].trim_start_matches("USER ").split(':').next().unwrap_or_default();
    assert!(!["root", "0", ""].contains(&who), "runs as a non-root user: {}", user[0]);
    assert_eq!(of("EXPOSE"), [&"EXPOSE 9898".to_owned()]);
    assert!(of("ENTRYPOINT").iter().any(|e| e.contains("/usr/local/bin/logveil")));
    assert!(ins.contains(&"ENV LOGVEIL_CONFIG=/etc/logveil/logveil.toml".to_owned()));
    for copy in [
        "COPY config/logveil.toml /etc/logveil/logveil.toml",
        "COPY pipelines/ /etc/logveil/pipelines/",
    ] {
        assert!(ins.contains(&copy.to_owned()), "missing: {copy}");
    }
    // Everything the build stage copies is let through by .dockerignore.
    let ignore = repo(".dockerignore");
    for path in
        ["Cargo.toml", "Cargo.lock", "src/", "benches/*.rs", "config/logveil.toml", "pipelines/"]
    {
        assert!(ignore.lines().any(|l| l == format!("!{path}")), ".dockerignore hides {path}");
    }
}

/// Lays out `etc/logveil/` in a temp dir as the image and the Kubernetes
/// example do (`logveil.toml` + the shipped `pipelines/*.toml`), runs
/// `logveil check` there with only `LOGVEIL_CONFIG` and a key set, and returns
/// its output after asserting that every pipeline passed.
fn check_etc_logveil(config: &str) -> String {
    let root = tempfile::tempdir().expect("tempdir");
    let etc = root.path().join("etc/logveil");
    std::fs::create_dir_all(etc.join("pipelines")).expect("mkdir");
    std::fs::write(etc.join("logveil.toml"), config).expect("write config");
    let mut shipped = 0;
    let pipelines = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    for entry in std::fs::read_dir(&pipelines).expect("pipelines/") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, etc.join("pipelines").join(path.file_name().expect("name")))
                .expect("copy pipeline");
            shipped += 1;
        }
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logveil"));
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("LOGVEIL_")) {
        cmd.env_remove(name);
    }
    let out = cmd
        .arg("check")
        .current_dir(root.path())
        .env("LOGVEIL_CONFIG", etc.join("logveil.toml"))
        .env("LOGVEIL_KEY_IDS", KEY)
        .output()
        .expect("logveil check runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("all checks passed"), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("pipeline ")).count(), shipped, "{stdout}");
    stdout
}

/// A well-formed test key (never a real one).
const KEY: &str = "8c1f4e2a9b7d3c6e0f5a1b8d2c7e4f9a3b6d0c8e1f7a2b5d9c4e6f0a3b8d1c7e";

/// The `sed -e 's|pattern|replacement|'` expressions of the Dockerfile.
fn sed_expressions(dockerfile: &str) -> Vec<(String, String)> {
    let re = Regex::new(r"-e 's\|([^|]*)\|([^|]*)\|'").expect("regex");
    re.captures_iter(dockerfile).map(|c| (c[1].to_owned(), c[2].to_owned())).collect()
}

#[test]
fn the_images_etc_logveil_passes_the_start_check() {
    let dockerfile = repo("Dockerfile");
    let seds = sed_expressions(&dockerfile);
    assert_eq!(seds.len(), 2, "pipelines_dir and http_listen: {seds:?}");

    // /etc/logveil/logveil.toml as the image builds it.
    let mut config = repo("config/logveil.toml");
    for (pattern, replacement) in &seds {
        assert!(!replacement.contains(['&', '\\']), "literal replacements only: {replacement}");
        // sed's basic regex ^, . and * mean the same in `regex`; (?m) = per line.
        let re = Regex::new(&format!("(?m){pattern}")).expect("the sed pattern is a regex");
        assert_eq!(re.find_iter(&config).count(), 1, "{pattern} matches one line of the config");
        config = re.replace(&config, replacement.as_str()).into_owned();
    }
    let table: toml::Table = config.parse().expect("the rewritten config is TOML");
    assert_eq!(table["pipelines_dir"].as_str(), Some("pipelines"));
    assert_eq!(table["service"]["http_listen"].as_str(), Some("0.0.0.0:9898"));

    let stdout = check_etc_logveil(&config);
    assert!(!stdout.contains("override "), "no LOGVEIL_* override needed: {stdout}");
}

/// The `logveil.toml` block of the Kubernetes ConfigMap example.
fn configmap_logveil_toml() -> String {
    let yaml = repo("config/kubernetes/logveil-config.yaml");
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "logveil.toml: |").skip(1);
    let mut block = Vec::new();
    for line in lines.by_ref() {
        match line.strip_prefix("    ") {
            Some(body) => block.push(body),
            None if line.trim().is_empty() => block.push(""),
            None => break,
        }
    }
    assert!(!block.is_empty(), "no logveil.toml block in the ConfigMap");
    block.join("\n")
}

#[test]
fn the_kubernetes_configmap_passes_the_start_check() {
    let config = configmap_logveil_toml();
    let table: toml::Table = config.parse().expect("the ConfigMap's logveil.toml is TOML");
    assert_eq!(table["service"]["http_listen"].as_str(), Some("0.0.0.0:9898"));
    check_etc_logveil(&config);
}

/// The first integer after `key` and a separator in `text`.
fn number_after(text: &str, key: &str) -> u64 {
    let re = Regex::new(&format!(r"(?m){key}\s*[:=]\s*(\d+)")).expect("regex");
    let c = re.captures(text).unwrap_or_else(|| panic!("no {key}"));
    c[1].parse().expect("digits")
}

#[test]
fn stop_timeouts_leave_room_for_the_graceful_shutdown() {
    // SIGTERM finishes in-flight work within shutdown_grace_secs; the
    // orchestrator must not SIGKILL before that.
    let grace = number_after(&configmap_logveil_toml(), "shutdown_grace_secs");
    assert_eq!(grace, number_after(&repo("config/logveil.toml"), "shutdown_grace_secs"));
    let pod = number_after(
        &repo("config/kubernetes/logveil-sidecar.yaml"),
        "terminationGracePeriodSeconds",
    );
    let unit = repo("config/systemd/logveil.service");
    let systemd = number_after(&unit, "TimeoutStopSec");
    assert!(pod > grace && systemd > grace, "pod {pod} s, systemd {systemd} s, grace {grace} s");
    assert!(unit.contains("ExecStartPre=/usr/local/bin/logveil check"), "the unit's start check");
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_build_stage_has_every_file_the_binary_includes() {
    // The build stage copies Cargo.toml, Cargo.lock, src/ and benches/*.rs
    // only; a file that src/ pulls in at compile time from elsewhere would
    // break `docker build` without failing any other test.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().expect("manifest dir");
    let src = root.join("src");
    let include = Regex::new(r#"include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)"#).expect("regex");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "src/ has {} Rust files", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable source");
        for c in include.captures_iter(&text) {
            let dir = file.parent().expect("a file has a folder");
            let target = dir.join(&c[1]).canonicalize().unwrap_or_else(|e| {
                panic!("{}: include of {}: {e}", file.display(), &c[1]);
            });
            assert!(
                target.starts_with(&src),
                "{} includes {} from outside src/: add it to the Dockerfile's build stage",
                file.display(),
                &c[1]
            );
        }
    }
}
