//! A small file system that a test can fill: a tmpfs mounted on a temporary directory (the tests
//! run as root on CI; mounting is refused otherwise, and then the test fails under `CI` or is
//! skipped with a printed reason).

use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// A tmpfs of a fixed size, unmounted when dropped.
pub struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    /// Mount a tmpfs of `bytes` on a fresh directory; `None` (skip) when mounting is not allowed
    /// here and `CI` is not set.
    pub fn mount(bytes: u64) -> Option<Tmpfs> {
        let dir = TempDir::new().expect("temporary directory");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .status();
        match status {
            Ok(status) if status.success() => Some(Tmpfs { dir }),
            other => {
                let reason = format!("cannot mount a tmpfs ({other:?}): this test needs root");
                assert!(std::env::var_os("CI").is_none(), "{reason}");
                eprintln!("skipped: {reason}");
                None
            }
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file of zeros under the mount until the file system refuses (ENOSPC), then give
    /// `leave` bytes back; the filler's path.
    pub fn fill(&self, leave: u64) -> PathBuf {
        use std::io::Write;
        let taken = std::fs::read_dir(self.dir.path()).map_or(0, |d| d.count());
        let path = self.dir.path().join(format!("filler-{taken}"));
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let chunk = vec![0u8; 64 << 10];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        // The last pages too: single bytes until nothing more fits.
        while let Ok(1) = file.write(&[0u8]) {}
        let len = file.metadata().expect("filler size").len();
        file.set_len(len.saturating_sub(leave))
            .expect("give space back");
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a process that still has a file open there (a killed server's last moments)
        // must not keep the mount.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
