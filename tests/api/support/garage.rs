//! A real S3 server for the object-store runs: one single-node Garage per test process, started by
//! `scripts/garage-single-node.sh` on first use (which installs Garage when it is missing), with one
//! bucket; every test gets a prefix of its own in it. The server stops when this process exits
//! (the script waits for its standard input to close). Without Garage the S3 runs are skipped with
//! a printed reason — except with `CI` set, where they fail (`.ci/run` installs it first).

use std::io::{BufRead, BufReader};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use futures_util::TryStreamExt;

pub struct Garage {
    pub endpoint: String,
    pub region: String,
    pub key_id: String,
    pub secret: String,
    /// Held open for the life of the process: the script stops the server when it closes.
    _stdin: Mutex<ChildStdin>,
}

pub const BUCKET: &str = "vira";

/// The shared Garage server, started on first use; `None` when it cannot be (not under `CI`).
pub fn garage() -> Option<&'static Garage> {
    static GARAGE: OnceLock<Result<Garage, String>> = OnceLock::new();
    match GARAGE.get_or_init(start) {
        Ok(garage) => Some(garage),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("CI is set, so the object-store runs must run, but Garage did not start: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED object-store run: Garage did not start: {e}");
            None
        }
    }
}

fn start() -> Result<Garage, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/garage-single-node.sh");
    let dir = std::env::temp_dir().join(format!("vira-garage-{}", vira::model::ids::new_id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let mut child = Command::new(script)
        .arg(&dir)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{script}: {e}"))?;
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut settings = std::collections::HashMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line == "ready" {
            let get = |name: &str| {
                settings
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("{script} did not print {name}"))
            };
            return Ok(Garage {
                endpoint: get("VIRA_S3_ENDPOINT")?,
                region: get("VIRA_S3_REGION")?,
                key_id: get("VIRA_S3_ACCESS_KEY_ID")?,
                secret: get("VIRA_S3_SECRET_ACCESS_KEY")?,
                _stdin: Mutex::new(stdin),
            });
        }
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            settings.insert(name.to_owned(), value.to_owned());
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    Err(format!("{script} exited ({status}) before it was ready"))
}

impl Garage {
    /// A fresh `s3://` URL of the bucket under a prefix nobody else uses.
    pub fn new_prefix_url(&self) -> (String, String) {
        let prefix = format!("test-{}", vira::model::ids::new_id());
        (format!("s3://{BUCKET}/{prefix}"), prefix)
    }

    /// The `vira serve` options (and `ServeConfig` values) that reach this server.
    pub fn options(&self, url: &str) -> Vec<String> {
        vec![
            "--storage".into(),
            url.into(),
            "--s3-endpoint".into(),
            self.endpoint.clone(),
            "--s3-region".into(),
            self.region.clone(),
            "--s3-access-key-id".into(),
            self.key_id.clone(),
            "--s3-secret-access-key".into(),
            self.secret.clone(),
        ]
    }

    pub fn configure(&self, config: &mut vira::config::ServeConfig, url: &str) {
        config.file_storage = vira::config::StorageTarget::S3(url.to_owned());
        config.s3.s3_endpoint = Some(self.endpoint.clone());
        config.s3.s3_region = Some(self.region.clone());
        config.s3.s3_access_key_id = Some(self.key_id.clone());
        config.s3.s3_secret_access_key = Some(self.secret.clone());
    }

    /// A client of the bucket of its own, to look at and tamper with what vira stored.
    pub fn client(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region(&self.region)
            .with_access_key_id(&self.key_id)
            .with_secret_access_key(&self.secret)
            .build()
            .expect("S3 client")
    }
}

/// The keys under `prefix/folder` in the bucket, relative to `prefix`, sorted.
pub async fn bucket_keys(client: &AmazonS3, prefix: &str, folder: &str) -> Vec<String> {
    let under = Path::from(format!("{prefix}/{folder}"));
    let mut keys: Vec<String> = client
        .list(Some(&under))
        .map_ok(|meta| {
            meta.location
                .as_ref()
                .strip_prefix(&format!("{prefix}/"))
                .unwrap_or(meta.location.as_ref())
                .to_owned()
        })
        .try_collect()
        .await
        .expect("list the bucket");
    keys.sort();
    keys
}

/// Put an object straight into the bucket (as a crashed writer would leave it).
pub async fn put_object(client: &AmazonS3, prefix: &str, key: &str, bytes: &'static [u8]) {
    client
        .put(&Path::from(format!("{prefix}/{key}")), bytes.into())
        .await
        .expect("put an object");
}

pub async fn delete_object(client: &AmazonS3, prefix: &str, key: &str) {
    client
        .delete(&Path::from(format!("{prefix}/{key}")))
        .await
        .expect("delete an object");
}
