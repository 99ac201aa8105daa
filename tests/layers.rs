//! The layering of ARCHITECTURE.md, checked on the source: every `crate::…` path in a module names a
//! module of its own layer or a lower one, no front door reaches into another, and no front door
//! names the storage layer (`crate::db`): they all go in through `ops/`.

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
    ("front doors", &["api", "jobs_api", "web", "worker"]),
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
            "reads",
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

/// The module whose layer a file has: its first path segment, except that a workflow's worker steps
/// (`workflows/<w>/steps.rs`) belong to the worker and its page view (`workflows/<w>/page.rs`) to
/// the pages: each workflow keeps all that is specific to it in one folder.
fn module_of(relative: &Path) -> String {
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [top, _, file] if top == "workflows" && file == "steps.rs" => "worker".to_owned(),
        [top, _, file] if top == "workflows" && file == "page.rs" => "web".to_owned(),
        [top, ..] => top.trim_end_matches(".rs").to_owned(),
        [] => unreachable!("a file has a path"),
    }
}

#[test]
fn no_module_imports_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = module_of(relative);
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

/// The places in `text` that name the storage layer, as `line: code`: a `crate::db` path (also in a
/// `use crate::{…}` list) or a `db::…` path through an import of it, outside comments.
fn storage_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let via_crate = crate_imports(code).iter().any(|m| m == "db");
        let bare = code.match_indices("db::").any(|(at, _)| {
            let before = code[..at].chars().next_back();
            !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if via_crate || bare {
            found.push(format!("{}: {}", number + 1, code.trim()));
        }
    }
    found
}

#[test]
fn front_doors_do_not_name_the_storage_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offenders = BTreeMap::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = module_of(relative);
        if layer_of(&module).is_none_or(|layer| LAYERS[layer].0 != "front doors") {
            continue;
        }
        checked += 1;
        let found = storage_paths(&std::fs::read_to_string(file).unwrap());
        if !found.is_empty() {
            offenders.insert(relative.display().to_string(), found);
        }
    }
    assert!(checked > 20, "only {checked} front-door files found");
    assert!(
        offenders.is_empty(),
        "front doors (api, jobs_api, web, worker) must reach storage through an operation in \
         src/ops/ (which returns a `model::failure::Failure`), not name crate::db: {offenders:#?}"
    );
}

#[test]
fn the_checker_sees_storage_paths() {
    let text = "use crate::db;\nuse crate::db::users::{self as db_users};\nuse crate::{app, db};\n\
                let x = db::samples::get(&app.db, id);\nlet y = crate::db::fresh_id(d);\n\
                // db::changes in a comment\nlet z = db_users::get(d);\nlet app_db = &app.db;";
    let lines: Vec<String> = storage_paths(text)
        .iter()
        .map(|f| f.split(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(lines, ["1", "2", "3", "4", "5"]);
}
