//! The deployment files of `vira worker` (deploy/worker/) name only options that exist, give the
//! worker more time to stop than its own shutdown grace, and parse.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn deploy(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/worker")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `vira worker --help`: its long options and environment variables.
fn worker_help() -> (BTreeSet<String>, BTreeSet<String>) {
    let output = Command::new(env!("CARGO_BIN_EXE_vira"))
        .args(["worker", "--help"])
        .output()
        .expect("run vira worker --help");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let mut options = BTreeSet::new();
    let mut variables = BTreeSet::new();
    for word in text.split(|c: char| c.is_whitespace() || c == '[' || c == ']' || c == ',') {
        if let Some(option) = word.strip_prefix("--") {
            let option = option.split('=').next().unwrap();
            options.insert(option.to_owned());
        }
        if let Some(variable) = word.strip_suffix('=').filter(|w| w.starts_with("VIRA_")) {
            variables.insert(variable.to_owned());
        } else if word.starts_with("VIRA_") {
            variables.insert(word.to_owned());
        }
    }
    (options, variables)
}

/// The `--options` that follow `vira worker` in the command lines of `text` (comments left out).
fn worker_options_in(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let start = code.find("vira worker").expect("a vira worker command");
    let options: Vec<String> = code[start..]
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| w.split('=').next().unwrap().to_owned())
        .collect();
    assert!(!options.is_empty(), "no options found after vira worker");
    options
}

fn variables_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("VIRA_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn kubernetes_deployment() {
    let (_, variables) = worker_help();
    let manifest: yaml_serde::Value = yaml_serde::from_str(&deploy("kubernetes.yaml")).unwrap();
    assert_eq!(manifest["kind"].as_str(), Some("Deployment"));
    let spec = &manifest["spec"]["template"]["spec"];
    let grace = spec["terminationGracePeriodSeconds"].as_u64().unwrap();
    let container = &spec["containers"][0];
    let mut shutdown_grace = None;
    for env in container["env"].as_sequence().unwrap() {
        let name = env["name"].as_str().unwrap();
        assert!(
            variables.contains(name),
            "{name} is no option of vira worker"
        );
        if name == "VIRA_SHUTDOWN_GRACE" {
            shutdown_grace = env["value"].as_str().map(|v| v.parse::<u64>().unwrap());
        }
    }
    let shutdown_grace = shutdown_grace.expect("the manifest sets VIRA_SHUTDOWN_GRACE");
    assert!(
        grace > shutdown_grace,
        "terminationGracePeriodSeconds {grace} must exceed the worker's grace {shutdown_grace}"
    );
}

#[test]
fn slurm_batch_script() {
    let (options, variables) = worker_help();
    let script = deploy("slurm.sbatch");
    let status = Command::new("bash")
        .args(["-n", "-c", &script])
        .status()
        .unwrap();
    assert!(status.success(), "the batch script is valid bash");
    for option in worker_options_in(&script) {
        assert!(
            options.contains(&option),
            "--{option} is no option of vira worker"
        );
    }
    for variable in variables_in(&script) {
        assert!(variables.contains(&variable), "{variable} is no option");
    }
    assert!(
        script.contains("--exit-when-idle"),
        "a batch task ends when idle"
    );
    assert!(
        script.contains("exec vira worker"),
        "signals reach the worker"
    );
}

#[test]
fn systemd_unit() {
    let (options, _) = worker_help();
    let unit = deploy("vira-worker.service");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    for option in worker_options_in(exec) {
        assert!(
            options.contains(&option),
            "--{option} is no option of vira worker"
        );
    }
    let stop: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        stop > 30,
        "systemd waits longer than the default shutdown grace"
    );
}

#[test]
fn container_image() {
    let (_, variables) = worker_help();
    let file = deploy("Containerfile");
    assert!(file.contains("apt-get install") && file.contains("bowtie2"));
    assert!(file.contains(r#"ENTRYPOINT ["/usr/local/bin/vira", "worker"]"#));
    for line in file.lines().filter(|l| l.starts_with("ENV ")) {
        for variable in variables_in(line) {
            assert!(variables.contains(&variable), "{variable} is no option");
        }
    }
}
