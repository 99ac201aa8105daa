//! `vira serve` and `vira user create` as processes: for restarts, `kill -9`, signals, several
//! instances on one database, and limits set by the shell.

use std::path::PathBuf;

use tempfile::TempDir;

use super::{create_pg_database, Backend, Creds, Http, PgDatabase, Setup};

/// Polls of a starting `vira serve` process, and the pause between them (bounded: about 30 s).
const INSTANCE_READY_POLLS: u32 = 1200;
const INSTANCE_READY_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);

/// `vira user create --handle admin --admin` as a process; the printed key as credentials.
pub async fn create_admin_process(data_path: &std::path::Path, database_url: &str) -> Creds {
    create_admin(data_path, database_url, None).await
}

/// `create_admin_process` with `--password-stdin`: `password` and a newline on its input, as the
/// README's `echo '…' | vira user create … --password-stdin`.
pub async fn create_admin_process_with_password(
    data_path: &std::path::Path,
    database_url: &str,
    password: &str,
) -> Creds {
    create_admin(data_path, database_url, Some(password)).await
}

async fn create_admin(
    data_path: &std::path::Path,
    database_url: &str,
    password: Option<&str>,
) -> Creds {
    use tokio::io::AsyncWriteExt;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_vira"));
    command
        .args([
            "user",
            "create",
            "--handle",
            "admin",
            "--admin",
            "--data-path",
        ])
        .arg(data_path)
        .args(["--database-url", database_url])
        .env("VIRA_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if password.is_some() {
        command
            .arg("--password-stdin")
            .stdin(std::process::Stdio::piped());
    } else {
        command.stdin(std::process::Stdio::null());
    }
    let mut child = command.spawn().expect("run vira user create");
    if let Some(password) = password {
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(format!("{password}\n").as_bytes())
            .await
            .expect("write the password");
    }
    let output = child
        .wait_with_output()
        .await
        .expect("vira user create ends");
    assert!(
        output.status.success(),
        "vira user create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8(output.stdout).expect("key is UTF-8");
    let key = key.trim();
    assert!(!key.is_empty(), "vira user create printed no key");
    Creds {
        login: "admin".into(),
        key: key.to_owned(),
    }
}

/// How a `vira serve` process is started.
#[derive(Debug, Default)]
pub struct Launch {
    pub open_files: Option<OpenFiles>,
    /// Where its standard error goes (inherited when `None`).
    pub stderr: Option<PathBuf>,
    /// Its `VIRA_LOG` filter (`error` when `None`).
    pub log: Option<&'static str>,
}

/// An open-file limit for a `vira serve` process.
#[derive(Debug, Clone, Copy)]
pub enum OpenFiles {
    /// Only the soft limit is lowered; the hard limit stays (vira should raise it back).
    Soft,
    /// Soft and hard limits both 64.
    Both,
}

impl OpenFiles {
    fn script(self) -> &'static str {
        match self {
            OpenFiles::Soft => "ulimit -S -n 256 && exec \"$@\"",
            OpenFiles::Both => "ulimit -n 64 && exec \"$@\"",
        }
    }
}

/// A `vira serve` process on 127.0.0.1; killed when dropped.
pub struct Instance {
    pub http: Http,
    child: tokio::process::Child,
    pub addr: std::net::SocketAddr,
}

impl Instance {
    /// Start `vira serve` on a free port with the given data path, database and extra options,
    /// and wait (bounded polling) until it answers HTTP.
    pub async fn start(
        data_path: &std::path::Path,
        database_url: &str,
        extra: &[&str],
    ) -> Instance {
        Self::start_with(data_path, database_url, extra, Launch::default()).await
    }

    /// `start`, under an open-file limit set by the shell before `exec vira serve`.
    pub async fn start_limited(
        data_path: &std::path::Path,
        database_url: &str,
        extra: &[&str],
        open_files: Option<OpenFiles>,
    ) -> Instance {
        let launch = Launch {
            open_files,
            ..Launch::default()
        };
        Self::start_with(data_path, database_url, extra, launch).await
    }

    /// `start` with the process set up as `launch` says.
    pub async fn start_with(
        data_path: &std::path::Path,
        database_url: &str,
        extra: &[&str],
        launch: Launch,
    ) -> Instance {
        let Launch {
            open_files,
            stderr,
            log,
        } = launch;
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        // A free port can be taken by someone else before vira binds it: then vira exits and we
        // try another one.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let listen = format!("127.0.0.1:{port}");
            let mut command = match open_files {
                None => tokio::process::Command::new(env!("CARGO_BIN_EXE_vira")),
                Some(limit) => {
                    let mut sh = tokio::process::Command::new("sh");
                    sh.args(["-c", limit.script(), "sh", env!("CARGO_BIN_EXE_vira")]);
                    sh
                }
            };
            let mut child = command
                .args(["serve", "--listen", &listen, "--data-path"])
                .arg(data_path)
                .args(["--database-url", database_url])
                .args(extra)
                .env("VIRA_LOG", log.unwrap_or("error"))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(match &stderr {
                    Some(path) => std::fs::File::create(path).expect("stderr file").into(),
                    None => std::process::Stdio::inherit(),
                })
                .kill_on_drop(true)
                .spawn()
                .expect("spawn vira serve");
            let base = format!("http://{listen}");
            for _ in 0..INSTANCE_READY_POLLS {
                if child.try_wait().expect("poll child").is_some() {
                    break;
                }
                if client
                    .get(format!("{base}/api/analyses"))
                    .send()
                    .await
                    .is_ok()
                {
                    return Instance {
                        http: Http { base, client },
                        child,
                        addr: listen.parse().expect("listen address"),
                    };
                }
                tokio::time::sleep(INSTANCE_READY_PAUSE).await;
            }
            let _ = child.kill().await;
        }
        panic!("vira serve did not become ready");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running process")
    }

    /// `kill -9` and wait for the process to be gone.
    pub async fn kill9(&mut self) {
        self.child.kill().await.expect("kill vira");
    }

    /// Wait for the process to exit by itself, at most `limit`; its exit status.
    pub async fn wait_exit(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()?
            .ok()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl std::ops::Deref for Instance {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

/// An `Instance` with the administrator's credentials: the setup helpers for a process.
pub struct AsAdmin<'a> {
    instance: &'a Instance,
    admin: &'a Creds,
}

impl Instance {
    /// This instance driven as `admin` (the key printed by [`create_admin_process`]).
    pub fn as_admin<'a>(&'a self, admin: &'a Creds) -> AsAdmin<'a> {
        AsAdmin {
            instance: self,
            admin,
        }
    }
}

impl Setup for AsAdmin<'_> {
    fn http(&self) -> &Http {
        &self.instance.http
    }

    fn admin(&self) -> &Creds {
        self.admin
    }
}

/// Storage for process tests: a data path and a database URL of the given backend.
pub async fn process_storage(backend: Backend) -> Option<(TempDir, String, Option<PgDatabase>)> {
    let dir = TempDir::new().unwrap();
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}/vira.db", dir.path().display());
            Some((dir, url, None))
        }
        Backend::Postgres => {
            let (url, db) = create_pg_database().await?;
            Some((dir, url, Some(db)))
        }
    }
}
