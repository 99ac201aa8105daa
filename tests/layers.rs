//! The layering of ARCHITECTURE.md, checked on the source: every `crate::…` path in a module names a
//! module of its own layer or a lower one, and no front door reaches into another.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top to bottom; a module's layer is that of its first path segment under `src/`.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "entry points",
        &[
            "main",
            "lib",
            "cli",
            "server",
            "routes",
            "openapi",
            "telemetry",
        ],
    ),
    ("front doors", &["api", "jobs_api", "web"]),
    ("operations", &["ops"]),
    ("application state", &["app"]),
    ("HTTP plumbing", &["http"]),
    ("storage and backends", &["db", "files", "blast"]),
    (
        "domain",
        &[
            "format",
            "export",
            "import",
            "auth",
            "model",
            "config",
            "charts",
            "cache",
            "workflows",
        ],
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules named by `crate::<module>` in `text`, outside comments.
fn crate_imports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let name: String = rest[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
            rest = &rest[at + 7..];
        }
        // `use crate::{a, b}` lists.
        if let Some(at) = code.find("crate::{") {
            let list = &code[at + 8..];
            let list = list.split('}').next().unwrap_or("");
            for item in list.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        }
    }
    found
}

#[test]
fn no_module_imports_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "bin" {
            continue;
        }
        let own = layer_of(&module)
            .unwrap_or_else(|| panic!("{} is in no layer of this test", relative.display()));
        let text = std::fs::read_to_string(file).unwrap();
        for imported in crate_imports(&text) {
            if imported == module {
                continue;
            }
            let Some(theirs) = layer_of(&imported) else {
                panic!(
                    "{} imports crate::{imported}, which is in no layer",
                    relative.display()
                );
            };
            let upward = theirs < own;
            let sideways_door = theirs == own && LAYERS[own].0 == "front doors";
            if upward || sideways_door {
                violations
                    .entry(relative.display().to_string())
                    .or_insert_with(Vec::new)
                    .push(format!("crate::{imported} ({})", LAYERS[theirs].0));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layering of ARCHITECTURE.md: {violations:#?}"
    );
}

#[test]
fn the_checker_sees_imports() {
    let text = "use crate::db::analyses;\nuse crate::{app, http::error};\n// crate::ops in a comment\nlet x = crate::format::gzip(b);";
    assert_eq!(crate_imports(text), ["db", "app", "http", "format"]);
}
