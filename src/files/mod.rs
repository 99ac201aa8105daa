//! The file store: analysis files and temporary upload objects under `<data-path>`.
//!
//! Keys are `/`-separated paths built only from sanitized parts (`analyses/<id>/<name_on_disk>`).
//! Uploads are written to a temporary object under `tmp/` and moved to their key on commit, so a
//! failed upload never leaves a half-written file under its final key.

pub mod names;
pub mod sweep;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::fs::{self, File};
use tokio::io::{AsyncWriteExt, BufWriter};

#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
}

/// The storage key of an analysis file (contract §13).
pub fn analysis_file_key(analysis_id: &str, name_on_disk: &str) -> String {
    format!("analyses/{analysis_id}/{name_on_disk}")
}

impl FileStore {
    pub async fn local(root: &Path) -> std::io::Result<FileStore> {
        fs::create_dir_all(root.join("tmp")).await?;
        fs::create_dir_all(root.join("analyses")).await?;
        Ok(FileStore {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// A new temporary object, removed on drop unless committed.
    pub async fn create_temp(&self) -> std::io::Result<TempObject> {
        let path = self
            .root
            .join("tmp")
            .join(format!("{}.part", crate::model::ids::new_id()));
        let file = File::create(&path).await?;
        Ok(TempObject {
            path: Some(path),
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
            size: 0,
        })
    }

    /// Move a finished temporary object to `key`.
    pub async fn commit(&self, mut temp: TempObject, key: &str) -> std::io::Result<u64> {
        let size = temp.finish().await?;
        let target = self.path(key);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).await?;
        }
        let source = temp
            .path
            .take()
            .expect("temporary object already committed");
        if let Err(e) = fs::rename(&source, &target).await {
            let _ = fs::remove_file(&source).await;
            return Err(e);
        }
        Ok(size)
    }

    /// Open a stored object; `None` when it does not exist.
    pub async fn open(&self, key: &str) -> std::io::Result<Option<(File, u64)>> {
        match File::open(self.path(key)).await {
            Ok(file) => {
                let size = file.metadata().await?.len();
                Ok(Some((file, size)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Remove one object (absent is fine).
    pub async fn remove(&self, key: &str) -> std::io::Result<()> {
        match fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Remove every object of an analysis.
    pub async fn remove_analysis(&self, analysis_id: &str) -> std::io::Result<()> {
        match fs::remove_dir_all(self.path(&format!("analyses/{analysis_id}"))).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Remove temporary objects not written to for `grace` (at start-up); returns how many.
    pub async fn clean_temp(&self, grace: Duration) -> std::io::Result<usize> {
        let mut removed = 0;
        for (path, _) in stale_entries(&self.root.join("tmp"), grace).await? {
            if fs::remove_file(path).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The analysis ids that have a folder of objects, with the folder's stale objects
    /// (`name_on_disk`s not modified for `grace`).
    pub async fn stale_analysis_objects(
        &self,
        grace: Duration,
    ) -> std::io::Result<Vec<(String, Vec<String>)>> {
        let mut found = Vec::new();
        let mut dirs = fs::read_dir(self.root.join("analyses")).await?;
        while let Some(dir) = dirs.next_entry().await? {
            if !dir.file_type().await?.is_dir() {
                continue;
            }
            let names = stale_entries(&dir.path(), grace)
                .await?
                .into_iter()
                .map(|(_, name)| name)
                .collect();
            found.push((dir.file_name().to_string_lossy().into_owned(), names));
        }
        Ok(found)
    }
}

/// Files directly in `dir` whose modification time is at least `grace` ago: `(path, name)`.
async fn stale_entries(dir: &Path, grace: Duration) -> std::io::Result<Vec<(PathBuf, String)>> {
    let mut stale = Vec::new();
    let mut entries = match fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(stale),
        Err(e) => return Err(e),
    };
    let now = SystemTime::now();
    while let Some(entry) = entries.next_entry().await? {
        let metadata = entry.metadata().await?;
        let age = metadata
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if metadata.is_file() && age >= grace {
            stale.push((
                entry.path(),
                entry.file_name().to_string_lossy().into_owned(),
            ));
        }
    }
    Ok(stale)
}

/// A temporary object being written. Dropping it without `commit` removes the file.
pub struct TempObject {
    path: Option<PathBuf>,
    writer: Option<BufWriter<File>>,
    size: u64,
}

impl TempObject {
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| std::io::Error::other("temporary object is closed"))?;
        writer.write_all(bytes).await?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The file path, for readers that need the whole temporary object (imports).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Flush and sync; returns the size.
    pub async fn finish(&mut self) -> std::io::Result<u64> {
        if let Some(mut writer) = self.writer.take() {
            writer.flush().await?;
            writer.get_mut().sync_all().await?;
        }
        Ok(self.size)
    }
}

impl Drop for TempObject {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}
