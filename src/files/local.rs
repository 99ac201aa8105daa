//! Files on a local (or shared POSIX) directory: temporary objects under `tmp/`, locked by their
//! writer (`flock`) and renamed to their key on commit.

use std::path::{Path, PathBuf};

use tokio::fs::{self, File};
use tokio::io::{AsyncWriteExt, BufWriter};

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub async fn open(root: &Path) -> std::io::Result<LocalStore> {
        fs::create_dir_all(root.join("tmp")).await?;
        fs::create_dir_all(root.join("analyses")).await?;
        Ok(LocalStore {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Bytes free on the file system of the root (statvfs: blocks available to unprivileged users).
    pub async fn free_bytes(&self) -> std::io::Result<u64> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let stats = rustix::fs::statvfs(&root)?;
            Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// A new temporary object, removed on drop unless committed. It is locked (`flock`) for as
    /// long as its writer lives, so the sweep of any instance can tell an abandoned object (lock
    /// free: its process died) from one being written right now.
    pub async fn create_temp(&self) -> std::io::Result<TempObject> {
        let path = self
            .root
            .join("tmp")
            .join(format!("{}.part", crate::model::ids::new_id()));
        let (lock, file) = tokio::task::spawn_blocking({
            let path = path.clone();
            move || -> std::io::Result<(std::fs::File, std::fs::File)> {
                let lock = std::fs::File::create(&path)?;
                lock.try_lock().map_err(std::io::Error::from)?;
                let file = lock.try_clone()?;
                Ok((lock, file))
            }
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(TempObject {
            path: Some(path),
            writer: Some(BufWriter::with_capacity(1 << 20, File::from_std(file))),
            size: 0,
            lock: Some(lock),
            written_back: 0,
            writing_back: None,
        })
    }

    /// Move a finished temporary object to `key`. The returned lock keeps the object claimed
    /// until the caller has recorded it, so no sweep takes it for an orphan meanwhile.
    pub async fn commit(
        &self,
        mut temp: TempObject,
        key: &str,
    ) -> std::io::Result<(u64, Option<std::fs::File>)> {
        let size = temp.finish().await?;
        let target = self.path(key);
        let source = temp
            .path
            .take()
            .expect("temporary object already committed");
        // A delete of the analysis may remove the directory between its creation and the rename;
        // the second attempt recreates it, and the caller then finds the analysis gone (§12).
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).await?;
            }
            match fs::rename(&source, &target).await {
                Ok(()) => return Ok((size, temp.lock.take())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempt < 2 => {}
                Err(e) => {
                    let _ = fs::remove_file(&source).await;
                    return Err(e);
                }
            }
        }
    }

    /// Open a stored object with its size; `None` when it does not exist.
    pub async fn open_file(&self, key: &str) -> std::io::Result<Option<(File, u64)>> {
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

    /// Remove every object under `prefix` (a folder key).
    pub async fn remove_folder(&self, prefix: &str) -> std::io::Result<()> {
        match fs::remove_dir_all(self.path(prefix)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Remove a folder when it is empty.
    pub async fn prune_folder(&self, prefix: &str) {
        let _ = fs::remove_dir(self.path(prefix)).await;
    }

    /// Remove temporary objects that nobody is writing; returns how many.
    pub async fn clean_temp(&self) -> std::io::Result<usize> {
        let mut removed = 0;
        for name in files_in(&self.root.join("tmp")).await? {
            let key = format!("tmp/{name}");
            if let Some(_lock) = self.try_lock(&key).await? {
                self.remove(&key).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Every owner folder under `folder` and the names of the objects in it.
    pub async fn owned_objects(&self, folder: &str) -> std::io::Result<Vec<(String, Vec<String>)>> {
        let mut found = Vec::new();
        let mut dirs = match fs::read_dir(self.root.join(folder)).await {
            Ok(dirs) => dirs,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
            Err(e) => return Err(e),
        };
        while let Some(dir) = dirs.next_entry().await? {
            if dir.file_type().await?.is_dir() {
                let names = files_in(&dir.path()).await?;
                found.push((dir.file_name().to_string_lossy().into_owned(), names));
            }
        }
        Ok(found)
    }

    /// The names of the files under `uploads/`.
    pub async fn upload_objects(&self) -> std::io::Result<Vec<String>> {
        files_in(&self.root.join("uploads")).await
    }

    /// Lock an object if no live upload holds it; `None` when someone does (or it is gone).
    pub async fn try_lock(&self, key: &str) -> std::io::Result<Option<std::fs::File>> {
        let path = self.path(key);
        tokio::task::spawn_blocking(move || match std::fs::File::open(&path) {
            Ok(file) => match file.try_lock() {
                Ok(()) => Ok(Some(file)),
                Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                Err(std::fs::TryLockError::Error(e)) => Err(e),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

/// The names of the files directly in `dir` (none when it does not exist).
async fn files_in(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut entries = match fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(e),
    };
    while let Some(entry) = entries.next_entry().await? {
        if entry.file_type().await?.is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(names)
}

/// Bytes written between two background writebacks of a temporary object. Left alone, the kernel
/// keeps gigabytes dirty (its limits are a share of memory), and the commit's `fsync` then writes
/// them all while the uploader waits; written back as they come, the commit finds little left.
const WRITE_BACK_EVERY: u64 = 64 << 20;

/// A temporary object being written. Dropping it without `commit` removes the file.
pub struct TempObject {
    path: Option<PathBuf>,
    writer: Option<BufWriter<File>>,
    size: u64,
    /// The open file that holds the object's lock.
    lock: Option<std::fs::File>,
    /// `size` when the last background writeback started.
    written_back: u64,
    /// That writeback (an `fdatasync` of a duplicate descriptor), while it may run.
    writing_back: Option<tokio::task::JoinHandle<()>>,
}

impl TempObject {
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| std::io::Error::other("temporary object is closed"))?;
        writer.write_all(bytes).await?;
        self.size += bytes.len() as u64;
        if self.size - self.written_back >= WRITE_BACK_EVERY {
            self.write_back();
        }
        Ok(())
    }

    /// Start writing what was written so far to the disk, beside the writes that follow, unless
    /// the last such writeback still runs. Its errors are the commit's `fsync`'s to report.
    fn write_back(&mut self) {
        if self.writing_back.as_ref().is_some_and(|w| !w.is_finished()) {
            return;
        }
        let Some(file) = self.lock.as_ref().and_then(|f| f.try_clone().ok()) else {
            return;
        };
        self.written_back = self.size;
        self.writing_back = Some(tokio::task::spawn_blocking(move || {
            let _ = file.sync_data();
        }));
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
            if let Some(writing_back) = self.writing_back.take() {
                let _ = writing_back.await;
            }
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
