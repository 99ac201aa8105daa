//! A real browser for the page tests: Debian's `chromium`, headless, driven over WebDriver by
//! `chromedriver` (started here on a free port) through fantoccini. Without them the tests are
//! skipped with a printed reason — except with `CI` set, where they fail.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    /// Where the screenshots of this run go.
    shots: PathBuf,
    prefix: String,
}

impl Browser {
    /// A new browser session; `prefix` names its screenshots (`<prefix>-<page>.png`).
    pub async fn start(prefix: &str) -> Option<Browser> {
        for program in [CHROMEDRIVER, CHROMIUM] {
            if !std::path::Path::new(program).exists() {
                if std::env::var_os("CI").is_some() {
                    panic!("CI is set, so the browser tests must run, but {program} is missing");
                }
                eprintln!("SKIPPED browser test: {program} is not installed (apt-get install chromium chromium-driver)");
                return None;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        super::wait_for(Duration::from_secs(20), "chromedriver listens", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        })
        .await;
        let profile = tempfile::TempDir::new().unwrap().keep();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                // The flags of this machine's probe: no network beyond loopback is reachable.
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         format!("--user-data-dir={}", profile.display())],
            }),
        );
        let client = ClientBuilder::rustls()
            .expect("TLS for the WebDriver client")
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a chromium session");
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Some(Browser {
            client,
            driver,
            shots,
            prefix: prefix.to_owned(),
        })
    }

    /// Save a screenshot of the whole window as `<prefix>-<name>.png`.
    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let path = self.shots.join(format!("{}-{name}.png", self.prefix));
        std::fs::write(&path, png).unwrap();
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current url")
            .path()
            .to_owned()
    }

    pub async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element {selector}: {e}"))
    }

    pub async fn all(&self, selector: &str) -> Vec<fantoccini::elements::Element> {
        self.client
            .find_all(Locator::Css(selector))
            .await
            .expect("find elements")
    }

    /// Run a script in the page; its return value.
    pub async fn script(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Every visible form control has a label (or `aria-label`), every button a name: what a
    /// screen reader needs to announce the controls.
    pub async fn assert_labelled(&self) {
        let unlabelled = self
            .script(
                "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
                   .filter(e => {
                     const named = e.getAttribute('aria-label') || (e.labels && e.labels.length)
                       || (e.tagName === 'BUTTON' && e.textContent.trim());
                     return !named;
                   })
                   .map(e => e.outerHTML.slice(0, 120));",
            )
            .await;
        assert_eq!(
            unlabelled,
            serde_json::json!([]),
            "controls without a label"
        );
    }

    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}
